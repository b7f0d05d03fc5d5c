"""
URL configuration for crud project.

The `urlpatterns` list routes URLs to views. For more information please see:
    https://docs.djangoproject.com/en/5.2/topics/http/urls/
Examples:
Function views
    1. Add an import:  from my_app import views
    2. Add a URL to urlpatterns:  path('', views.home, name='home')
Class-based views
    1. Add an import:  from other_app.views import Home
    2. Add a URL to urlpatterns:  path('', Home.as_view(), name='home')
Including another URLconf
    1. Import the include() function: from django.urls import include, path
    2. Add a URL to urlpatterns:  path('blog/', include('blog.urls'))
"""

from django.contrib import admin
from django.urls import include, path  # typed
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView  # typed
from posts import views  # typed
from rest_framework import routers  # typed

router = routers.DefaultRouter()  # typed
router.register(r"posts", views.PostViewSet)  # typed

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),  # typed
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),  # typed
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),  # typed
]
