from django.db import models


class Post(models.Model):  # typed
    title = models.CharField(max_length=200)  # typed
    body = models.TextField()  # typed
    published = models.BooleanField(default=False)  # typed
