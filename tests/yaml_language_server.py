"""A small Language Server Protocol client that drives the real yaml-language-server over stdio, as an editor does.

It opens documents (their text, under a file URI whose directory the spec's modeline is resolved from),
waits for the diagnostics the server publishes for each, and asks for completions. The server is
configured like an editor with the YAML extension: validation and completion on, the online schema
store off (the tests reach no network but the package registries).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from real_tools import yaml_language_server

SETTINGS = {"validate": True, "completion": True, "hover": True, "format": {"enable": False},
            "schemaStore": {"enable": False}}
REPLY_TIMEOUT = 60.0  # seconds: an upper bound for a reply, never a window a result has to land in


class YamlLanguageServer:
    """One yaml-language-server process, initialised for a workspace folder; use as a context manager."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(yaml_language_server(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.pending: list[dict[str, Any]] = []  # messages read while waiting for another one
        self.next_id = 0
        self.opened: set[str] = set()
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"processId": os.getpid(), "rootUri": root.as_uri(),
                                    "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
                                    "capabilities": {"workspace": {"configuration": True}}})
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": SETTINGS}})

    def __enter__(self) -> YamlLanguageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    # ---- what the tests ask ------------------------------------------------------------------------
    def diagnostics(self, path: Path, text: str | None = None) -> list[dict[str, Any]]:
        """Open a document (its text, or the file's) and return the diagnostics the server publishes for it.

        Each document is opened once: the server publishes one result per validation, so a fresh URI makes
        the first result for it the answer. The file need not exist: only its directory matters."""
        uri = path.resolve().as_uri()
        assert uri not in self.opened, f"{path} was opened already: give each document its own path"
        self.opened.add(uri)
        body = path.read_text() if text is None else text
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1,
                                                              "text": body}})
        message = self._wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri)
        return list(message["params"]["diagnostics"])

    def completion_labels(self, path: Path, text: str, line: int, character: int) -> list[str]:
        """The labels the server offers at a 0-based position of the document's text."""
        self.diagnostics(path, text)
        result = self.request("textDocument/completion", {"textDocument": {"uri": path.resolve().as_uri()},
                                                          "position": {"line": line, "character": character}})
        items = result["items"] if isinstance(result, dict) else result
        return [item["label"] for item in items]

    # ---- the protocol --------------------------------------------------------------------------------
    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        ident = self.next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        reply = self._wait(lambda m: m.get("id") == ident and "method" not in m)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.inbox.put({"closed": True})
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            assert length is not None, "a message without Content-Length"
            self.inbox.put(json.loads(out.read(length)))

    def _wait(self, wanted) -> dict[str, Any]:
        for i, message in enumerate(self.pending):
            if wanted(message):
                return self.pending.pop(i)
        while True:
            try:
                message = self.inbox.get(timeout=REPLY_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"yaml-language-server sent nothing for {REPLY_TIMEOUT:.0f} s") from None
            if message.get("closed"):
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise AssertionError(f"yaml-language-server exited:\n{err}")
            if "method" in message and "id" in message:  # a request of the server's: answer it
                self._answer(message)
            elif wanted(message):
                return message
            else:
                self.pending.append(message)

    def _answer(self, message: dict[str, Any]) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [SETTINGS if item.get("section") == "yaml" else {} for item in message["params"]["items"]]
        self._send({"jsonrpc": "2.0", "id": message["id"], "result": result})
