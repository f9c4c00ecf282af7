"""Running a ``Simulator``: in-process through httpx, or over real loopback HTTP with uvicorn."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import httpx

from ._app import ConnectionDropped

if TYPE_CHECKING:
    from ._simulator import Simulator


class SimulatorTransport(httpx.AsyncBaseTransport):
    """An in-process transport to a simulator, with faults as a network would show them.

        client = httpx.AsyncClient(transport=SimulatorTransport(sim))

    A dropped connection surfaces as ``httpx.RemoteProtocolError`` and a reply
    slower than the request's read timeout as ``httpx.ReadTimeout``, as they
    would over a socket (``httpx.ASGITransport`` alone enforces no timeout).
    """

    def __init__(self, sim: Simulator) -> None:
        self._inner = httpx.ASGITransport(app=sim.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            with anyio.fail_after(timeout):
                return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("simulated slow reply", request=request) from None


class _DropNoise(logging.Filter):
    """uvicorn logs a traceback when the app drops a connection on purpose; keep it quiet."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _make_server(sim: Simulator, sock: socket.socket, log_level: str) -> Any:
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "serving the simulator over HTTP needs uvicorn: pip install 'pbx-async[simulator]'"
        ) from None
    logging.getLogger("uvicorn.error").addFilter(_DropNoise())
    config = uvicorn.Config(sim.app, log_level=log_level, lifespan="off", access_log=False, timeout_keep_alive=30)
    return uvicorn.Server(config)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run the server's loop: uvloop when installed (the simulator must not be the bottleneck)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when it
    # is explicit, and without it Nagle plus delayed ACK add ~40 ms to every reply.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


@asynccontextmanager
async def serve(sim: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``sim`` over real HTTP on loopback for the duration of the block; yields its base URL.

        async with serve(Simulator(calls=500)) as base_url:
            ...

    The server runs on its own thread and event loop, so this works from
    asyncio and from Trio alike, and stops (connections closed) on exit.
    """
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    base_url = f"http://{bound_host if ':' not in bound_host else f'[{bound_host}]'}:{bound_port}/"
    sim.public_url = base_url
    server = _make_server(sim, sock, "warning")
    thread = threading.Thread(target=lambda: _run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the simulator's server failed to start")
            await anyio.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join)
        sock.close()


def run_forever(sim: Simulator, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve ``sim`` in the foreground until interrupted (the ``pbx-async simulate`` command)."""
    sock = bind(host, port)
    sim.public_url = f"http://{host}:{sock.getsockname()[1]}/"
    # The dataset is built and stays: keep the garbage collector from walking it again and
    # again, which on a large one pauses every request for a noticeable moment.
    gc.collect()
    gc.freeze()
    server = _make_server(sim, sock, "info")
    _run(server.serve(sockets=[sock]))


@contextmanager
def serve_process(*, host: str = "127.0.0.1", **options: object) -> Iterator[str]:
    """Run ``pbx-async simulate`` in a child process for the block; yields its base URL.

        with serve_process(calls=50_000, latency=0.05) as base_url:
            ...

    ``options`` are the command's flags in Python form (``calls=5000``,
    ``recording_bytes=1_000_000``, ``quirks=True``). The server then has a
    core of its own: what is measured in this process is the client alone.
    """
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "pbx_async", "simulate", "--host", host, "--port", str(port)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        command += [flag] if value is True else [] if value is False else [flag, str(value)]
    # Our own interpreter and fixed flags; option values are passed as separate argv items.
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection((host, port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the simulator process did not start") from None
                time.sleep(0.05)
        yield f"http://{host}:{port}/"
    finally:
        server.terminate()
        server.wait(10)
