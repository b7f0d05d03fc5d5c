from rest_framework import viewsets  # typed

from .models import Post  # typed
from .serializers import PostSerializer  # typed


class PostViewSet(viewsets.ModelViewSet):  # typed
    queryset = Post.objects.order_by("id")  # typed
    serializer_class = PostSerializer  # typed
