from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return {"message": "Hello, World!"}


@app.get("/hello/<name>")
def hello(name):
    return f"Hello, {name}!", {"Content-Type": "text/plain"}
