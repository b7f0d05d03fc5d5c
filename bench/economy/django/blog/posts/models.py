from django.conf import settings  # typed
from django.db import models
from django.urls import reverse  # typed


class Post(models.Model):  # typed
    title = models.CharField(max_length=200)  # typed
    body = models.TextField()  # typed
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)  # typed
    created = models.DateTimeField(auto_now_add=True)  # typed

    class Meta:  # typed
        ordering = ["-created"]  # typed

    def __str__(self):  # typed
        return self.title  # typed

    def get_absolute_url(self):  # typed
        return reverse("post_detail", args=[self.pk])  # typed


class Comment(models.Model):  # typed
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")  # typed
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)  # typed
    body = models.TextField()  # typed
    created = models.DateTimeField(auto_now_add=True)  # typed

    class Meta:  # typed
        ordering = ["created"]  # typed

    def __str__(self):  # typed
        return f"{self.author} on {self.post}"  # typed
