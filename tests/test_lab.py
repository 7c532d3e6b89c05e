"""`make lab` serves the notebooks, also when run as root (JupyterLab then needs --allow-root)."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_answers_on_its_port():
    port = free_port()
    args = "LAB_ARGS=--no-browser --ServerApp.token=test --ServerApp.ip=127.0.0.1"
    proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}", args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, answer = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/notebooks?token=test", timeout=2) as r:
                    answer = json.load(r)
                break
            except OSError:
                time.sleep(1)
        log = "" if proc.poll() is None else proc.stdout.read().decode()
        assert answer is not None, f"JupyterLab did not answer on port {port}; make lab said:\n{log}"
        names = {item["name"] for item in answer["content"]}
        assert "01_minimax.ipynb" in names, names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/exercises?token=test", timeout=5) as r:
            assert "01_minimax.ipynb" in {item["name"] for item in json.load(r)["content"]}  # exercises reachable too
        settings = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification?token=test"
        with urllib.request.urlopen(settings, timeout=5) as r:
            defaults = {k: v.get("default") for k, v in json.load(r)["schema"]["properties"].items()}
        # offline: no "get notified about official Jupyter news?" prompt (it asks while fetchNews is "none")
        assert defaults["fetchNews"] == "false" and defaults["checkForUpdates"] is False, defaults
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
