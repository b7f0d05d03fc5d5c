from django.contrib import messages  # typed
from django.contrib.auth.decorators import login_required  # typed
from django.contrib.auth.forms import UserCreationForm  # typed
from django.contrib.auth.mixins import LoginRequiredMixin  # typed
from django.contrib.messages.views import SuccessMessageMixin  # typed
from django.shortcuts import get_object_or_404, redirect, render  # typed
from django.urls import reverse_lazy  # typed
from django.views.decorators.http import require_POST  # typed
from django.views.generic import CreateView, DetailView, ListView  # typed

from .forms import CommentForm  # typed
from .models import Post  # typed


class SignUpView(SuccessMessageMixin, CreateView):  # typed
    form_class = UserCreationForm  # typed
    success_url = reverse_lazy("login")  # typed
    success_message = "Account created, please log in."  # typed
    template_name = "registration/signup.html"  # typed


class PostListView(ListView):  # typed
    model = Post  # typed


class PostDetailView(DetailView):  # typed
    model = Post  # typed

    def get_context_data(self, **kwargs):  # typed
        return super().get_context_data(form=CommentForm(), **kwargs)  # typed


class PostCreateView(LoginRequiredMixin, SuccessMessageMixin, CreateView):  # typed
    model = Post  # typed
    fields = ["title", "body"]  # typed
    success_message = "Your post was published."  # typed

    def form_valid(self, form):  # typed
        form.instance.author = self.request.user  # typed
        return super().form_valid(form)  # typed


@login_required  # typed
@require_POST  # typed
def add_comment(request, pk):  # typed
    post = get_object_or_404(Post, pk=pk)  # typed
    form = CommentForm(request.POST)  # typed
    if form.is_valid():  # typed
        form.instance.post = post  # typed
        form.instance.author = request.user  # typed
        form.save()  # typed
        messages.success(request, "Your comment was added.")  # typed
        return redirect(post)  # typed
    return render(request, "posts/post_detail.html", {"post": post, "form": form})  # typed
