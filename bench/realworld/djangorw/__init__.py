"""The Django app of the RealWorld bench (``django_app.py``): its models."""
