"""RealWorld's tables as Django models."""

from django.db import models


class User(models.Model):
    username = models.CharField(max_length=150, unique=True)
    email = models.EmailField(unique=True)
    password = models.CharField(max_length=255)
    bio = models.TextField(null=True, blank=True)
    image = models.URLField(max_length=2000, null=True, blank=True)
    follows = models.ManyToManyField("self", symmetrical=False, related_name="followers")


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)


class Article(models.Model):
    slug = models.SlugField(max_length=255, unique=True)
    title = models.CharField(max_length=255)
    description = models.CharField(max_length=2000)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="articles")
    tags = models.ManyToManyField(Tag, related_name="articles")
    favorited_by = models.ManyToManyField(User, related_name="favorites")

    class Meta:
        ordering = ["-created_at", "-id"]
