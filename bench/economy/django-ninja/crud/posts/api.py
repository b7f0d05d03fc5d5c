from django.shortcuts import get_object_or_404
from ninja import ModelSchema, NinjaAPI, Status
from ninja.pagination import paginate

from .models import Post

api = NinjaAPI()


class PostOut(ModelSchema):
    class Meta:
        model = Post
        fields = ["id", "title", "body", "published"]


class PostIn(ModelSchema):
    class Meta:
        model = Post
        fields = ["title", "body", "published"]


class PostPatch(ModelSchema):
    class Meta:
        model = Post
        fields = ["title", "body", "published"]
        fields_optional = "__all__"


@api.get("/posts", response=list[PostOut])
@paginate
def list_posts(request):
    return Post.objects.order_by("id")


@api.post("/posts", response={201: PostOut})
def create_post(request, payload: PostIn):
    return Status(201, Post.objects.create(**payload.dict()))


@api.get("/posts/{post_id}", response=PostOut)
def get_post(request, post_id: int):
    return get_object_or_404(Post, id=post_id)


@api.patch("/posts/{post_id}", response=PostOut)
def update_post(request, post_id: int, payload: PostPatch):
    post = get_object_or_404(Post, id=post_id)
    for attr, value in payload.dict(exclude_unset=True).items():
        setattr(post, attr, value)
    post.save()
    return post


@api.delete("/posts/{post_id}", response={204: None})
def delete_post(request, post_id: int):
    get_object_or_404(Post, id=post_id).delete()
    return Status(204, None)
