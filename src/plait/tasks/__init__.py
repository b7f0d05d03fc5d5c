"""plait's background tasks, on taskiq: in the app's process by default, or RabbitMQ/Redis.

::

    from plait import App
    from plait.db import Database
    from plait.tasks import Tasks

    app = App()
    db = Database(app)
    tasks = Tasks(app)          # PLAIT_TASKS_URL=amqp://… or redis://… moves them out

    @tasks.task(retries=3, timeout=30)
    async def send_welcome(user_id: int) -> None: ...

    @app.post("/users", status_code=201)
    async def register(...):
        ...
        await send_welcome.enqueue(user.id)     # checked against the type hints here

``plait worker app:app`` runs them from a broker; ``plait beat app:app`` runs the
schedules; ``plait tasks status|failed|retry``. Needs ``pip install 'plait[tasks]'``.
"""

from plait._optional import require

require("taskiq", "tasks", "plait.tasks")
require("sqlalchemy", "tasks", "plait.tasks")

from plait.tasks._execute import TaskInfo, TaskTimeout, backoff, current_task  # noqa: E402
from plait.tasks._handle import TaskFailed, TaskHandle  # noqa: E402
from plait.tasks._records import task_table  # noqa: E402
from plait.tasks._task import Schedule, Task, TaskArgumentError  # noqa: E402
from plait.tasks._tasks import Tasks  # noqa: E402

__all__ = [
    "Schedule",
    "Task",
    "TaskArgumentError",
    "TaskFailed",
    "TaskHandle",
    "TaskInfo",
    "TaskTimeout",
    "Tasks",
    "backoff",
    "current_task",
    "task_table",
]
