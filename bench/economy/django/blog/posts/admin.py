from django.contrib import admin

from .models import Comment, Post  # typed


@admin.register(Post)  # typed
class PostAdmin(admin.ModelAdmin):  # typed
    list_display = ["title", "author", "created"]  # typed


@admin.register(Comment)  # typed
class CommentAdmin(admin.ModelAdmin):  # typed
    list_display = ["post", "author", "created"]  # typed
