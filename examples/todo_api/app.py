"""A small typed CRUD API: to-do items kept in memory, documented at /docs and /redoc.

    plait run examples/todo_api/app.py:app
    plait openapi examples/todo_api/app.py:app

Every input is declared with its constraints (lengths, ranges, patterns, enums), so bad input
gets a 422 listing what is wrong, and the OpenAPI document says exactly what is accepted.
The test suite fuzzes this app with schemathesis against its own document.
"""

from __future__ import annotations

import datetime
import enum
import itertools
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from plait import App, HTTPException, Query
from plait.openapi import Problem

Title = Annotated[str, Meta(min_length=1, max_length=200, description="What to do.")]
Notes = Annotated[str, Meta(max_length=2000)]
Tag = Annotated[
    str, Meta(min_length=1, max_length=30, pattern="^[a-z0-9-]+$", examples=["home", "work"])
]
Tags = Annotated[list[Tag], Meta(max_length=10)]
TodoId = Annotated[int, Meta(ge=1, description="The to-do's id.")]


class Priority(enum.Enum):
    """How urgent a to-do is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class TodoIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new to-do."""

    title: Title
    notes: Notes = ""
    priority: Priority = Priority.NORMAL
    tags: Tags = []
    due: datetime.date | None = None


class TodoPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a to-do: only the fields given are changed (``"due": null`` clears it)."""

    title: Title | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    due: datetime.date | UnsetType | None = UNSET
    done: bool | UnsetType = UNSET


class Todo(msgspec.Struct):
    """A stored to-do."""

    id: TodoId
    title: str
    notes: str
    priority: Priority
    tags: list[str]
    due: datetime.date | None
    done: bool
    created_at: datetime.datetime


class TodoPage(msgspec.Struct):
    """One page of to-dos, and how many there are in all."""

    items: list[Todo]
    total: int
    offset: int
    limit: int


class TodoStore:
    """The in-memory store (a database would sit behind the same few methods)."""

    def __init__(self) -> None:
        self._items: dict[int, Todo] = {}
        self._ids = itertools.count(1)

    def add(self, new: TodoIn) -> Todo:
        todo = Todo(
            id=next(self._ids),
            title=new.title,
            notes=new.notes,
            priority=new.priority,
            tags=list(new.tags),
            due=new.due,
            done=False,
            created_at=datetime.datetime.now(datetime.UTC),
        )
        self._items[todo.id] = todo
        return todo

    def get(self, todo_id: int) -> Todo:
        try:
            return self._items[todo_id]
        except KeyError:
            raise HTTPException(404, f"No to-do with id {todo_id}") from None

    def select(self, done: bool | None, tag: str | None) -> list[Todo]:
        return [
            todo
            for todo in self._items.values()
            if (done is None or todo.done == done) and (tag is None or tag in todo.tags)
        ]

    def update(self, todo_id: int, patch: TodoPatch) -> Todo:
        todo = self.get(todo_id)
        changes = {
            field: value
            for field in patch.__struct_fields__
            if (value := getattr(patch, field)) is not UNSET
        }
        updated = msgspec.structs.replace(todo, **changes)
        self._items[todo_id] = updated
        return updated

    def delete(self, todo_id: int) -> None:
        self.get(todo_id)
        del self._items[todo_id]


store = TodoStore()
app = App(
    title="To-do API",
    version="1.0.0",
    description="A small typed CRUD API kept in memory: the plait OpenAPI example.",
    openapi_tags=[{"name": "todos", "description": "Create, list, change and delete to-dos."}],
)
NOT_FOUND = {404: {"model": Problem, "description": "There is no to-do with this id."}}


@app.post("/todos", status_code=201, tags=["todos"])
async def create_todo(todo: TodoIn) -> Todo:
    """Add a to-do; it starts not done."""
    return store.add(todo)


@app.get("/todos", tags=["todos"])
async def list_todos(
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="How many to skip.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    done: Annotated[bool | None, Query(description="Only done (or not done) ones.")] = None,
    tag: Annotated[str | None, Query(max_length=30, description="With this tag.")] = None,
) -> TodoPage:
    """List to-dos, oldest first, a page at a time."""
    found = store.select(done, tag)
    return TodoPage(found[offset : offset + limit], total=len(found), offset=offset, limit=limit)


@app.get("/todos/{todo_id:int}", tags=["todos"], responses=NOT_FOUND)
async def get_todo(todo_id: TodoId) -> Todo:
    """Get one to-do."""
    return store.get(todo_id)


@app.patch("/todos/{todo_id:int}", tags=["todos"], responses=NOT_FOUND)
async def update_todo(todo_id: TodoId, patch: TodoPatch) -> Todo:
    """Change some fields of a to-do."""
    return store.update(todo_id, patch)


@app.delete("/todos/{todo_id:int}", tags=["todos"], responses=NOT_FOUND)
async def delete_todo(todo_id: TodoId) -> None:
    """Delete a to-do."""
    store.delete(todo_id)
