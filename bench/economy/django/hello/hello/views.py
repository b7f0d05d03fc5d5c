from django.http import HttpResponse, JsonResponse


def index(request):
    return JsonResponse({"message": "Hello, World!"})


def hello(request, name):
    return HttpResponse(f"Hello, {name}!", content_type="text/plain")
