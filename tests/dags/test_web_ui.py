"""The Airflow web UI: a real `airflow standalone`, driven by Playwright with Debian's Chromium.

Logs in through the simple auth manager's form, unpauses image_drift_monitor,
triggers a run through the trigger form with Params, waits for it to succeed,
opens a task's log and saves screenshots into test-output/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "image_drift_monitor"
CLEAN_DAY = "2026-11-02"  # a demo production day with no drift
START_TIMEOUT = 180.0
RUN_TIMEOUT = 300.0  # the machine is shared: generous, but bounded


@dataclass
class Standalone:
    url: str
    home: Path
    password: str
    process: subprocess.Popen[bytes]
    log: Path

    def token(self) -> str:
        answer = httpx.post(
            f"{self.url}/auth/token",
            json={"username": "admin", "password": self.password},
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def api(self, path: str) -> Any:
        answer = httpx.get(
            f"{self.url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _standalone_env(home: Path, port: int, driftloop: dict[str, str]) -> dict[str, str]:
    # Nothing of this pytest process's own Airflow or driftloop settings leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DRIFTLOOP_"))}
    url = f"http://127.0.0.1:{port}"
    env.update(driftloop)
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple."
            "simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "DRIFTLOOP_REPORTS__AIRFLOW_BASE_URL": url,
        }
    )
    return env


def _session_processes(sid: int) -> list[psutil.Process]:
    """Every live process of the session `airflow standalone` was started in.

    Task supervisors move their children into process groups of their own, but
    never out of the session.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def _stop(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """SIGTERM the group, wait, SIGKILL what is left of the session; returns survivors."""
    sid = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    _, alive = psutil.wait_procs(_session_processes(sid), timeout=15)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=15)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=15)
    return _session_processes(sid)


def _wait_for(what: str, check: Any, timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        time.sleep(2)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"{what} not within {timeout:.0f} s; standalone log ends:\n{tail}")


@pytest.fixture
def standalone(
    tmp_path: Path, driftloop_env: dict[str, str], test_output: Path
) -> Iterator[Standalone]:
    """`airflow standalone` on a free port of 127.0.0.1, stopped (all of it) afterwards."""
    home = tmp_path / "airflow"
    home.mkdir()
    port = _free_port()
    log = test_output / "airflow_standalone.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "airflow"), "standalone"],
            env=_standalone_env(home, port, driftloop_env),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,  # its own process group and session
        )
    survivors: list[psutil.Process] = []
    try:
        url = f"http://127.0.0.1:{port}"
        passwords = home / "simple_auth_manager_passwords.json.generated"
        _wait_for("the generated admin password", passwords.exists, START_TIMEOUT, log)
        _wait_for(
            "the API server",
            lambda: httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200,
            START_TIMEOUT,
            log,
        )
        password = json.loads(passwords.read_text())["admin"]
        server = Standalone(url, home, password, process, log)
        _wait_for(
            f"{DAG_ID} to be parsed",
            lambda: server.api(f"/dags/{DAG_ID}")["dag_id"] == DAG_ID,
            START_TIMEOUT,
            log,
        )
        yield server
    finally:
        survivors = _stop(process)
    assert survivors == [], f"processes left running: {survivors}"


def _login(page: Any, server: Standalone, shots: Path) -> None:
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r"/auth/login"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(server.password)
    page.screenshot(path=str(shots / "airflow_login.png"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))


def _open_dag(page: Any, server: Standalone) -> None:
    page.goto(f"{server.url}/dags/{DAG_ID}")
    # Translations load after the first paint: wait for real words, not i18n keys.
    page.get_by_text("Overview", exact=True).wait_for(timeout=60_000)
    page.get_by_text("ingest", exact=True).first.wait_for(timeout=60_000)


def _unpause(page: Any) -> None:
    toggle = page.get_by_test_id("toggle-pause")
    if toggle.get_attribute("data-state") != "checked":
        toggle.click()
        page.wait_for_selector('[data-testid="toggle-pause"][data-state="checked"]')


def _fill_trigger_form(page: Any, source: str, shots: Path) -> None:
    page.get_by_test_id("trigger-dag-button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    dialog.locator("#element_source").fill(source)
    assert dialog.locator("#element_baseline").input_value() == "current"
    dry_run = dialog.locator('input[name="element_dry_run"]')
    dry_run.locator("xpath=ancestor::label[1]").click()
    assert dry_run.is_checked()
    assert not dialog.locator('input[name="element_force_retrain"]').is_checked()
    page.screenshot(path=str(shots / "airflow_trigger.png"))
    dialog.get_by_test_id("trigger-dag-submit").click()
    dialog.wait_for(state="hidden")


def _manual_run(server: Standalone) -> dict[str, Any] | None:
    runs = server.api(f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
    manual = [r for r in runs if r["run_type"] == "manual"]
    return manual[0] if manual else None


def _finished(server: Standalone, run_id: str) -> str | None:
    state = str(server.api(f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"])
    return state if state in ("success", "failed") else None


def test_a_run_triggered_through_the_form_succeeds_and_its_log_shows_the_counts(
    standalone: Standalone, demo_tiny: Path, test_output: Path, chromium_launch: dict[str, Any]
) -> None:
    from playwright.sync_api import sync_playwright

    shots = test_output
    source = str(demo_tiny / "production" / CLEAN_DAY)
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium_launch)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            page.set_default_timeout(60_000)
            _login(page, standalone, shots)
            _open_dag(page, standalone)
            _unpause(page)
            page.screenshot(path=str(shots / "airflow_dag.png"))
            _fill_trigger_form(page, source, shots)

            run = _wait_for("the manual run", lambda: _manual_run(standalone), 60, standalone.log)
            assert run["conf"]["source"] == source
            assert run["conf"]["dry_run"] is True and run["conf"]["force_retrain"] is False
            run_id = run["dag_run_id"]
            state = _wait_for(
                f"run {run_id} to finish",
                lambda: _finished(standalone, run_id),
                RUN_TIMEOUT,
                standalone.log,
            )
            tasks = standalone.api(f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")
            states = {t["task_id"]: t["state"] for t in tasks["task_instances"]}
            assert state == "success", states
            assert states["skip_retraining"] == "success"
            assert states["launch_retraining"] == states["schedule_retraining"] == "skipped"

            page.goto(f"{standalone.url}/dags/{DAG_ID}/runs/{run_id}")
            page.get_by_text("skip_retraining", exact=True).first.wait_for()
            page.wait_for_timeout(1500)  # let the grid draw its final states
            page.screenshot(path=str(shots / "airflow_run.png"))

            page.goto(f"{standalone.url}/dags/{DAG_ID}/runs/{run_id}/tasks/ingest")
            # driftloop's own log line, with the counts of the ingested day.
            n_files = sum(1 for f in Path(source).iterdir() if f.is_file())
            line = page.get_by_text(re.compile(rf"ingest .*\b{n_files} listed, \d+ accepted"))
            line.first.wait_for()
            page.screenshot(path=str(shots / "airflow_task_log.png"))
        finally:
            browser.close()
    print(f"web UI run: {time.monotonic() - started:.1f} s")
    # The same unpause also scheduled yesterday, which the demo set has no images for.
    _assert_scheduled_run_failed_at_once(standalone, demo_tiny)
    for name in ("login", "dag", "trigger", "run", "task_log"):
        assert (shots / f"airflow_{name}.png").stat().st_size > 10_000, name


def _failed_scheduled_run(server: Standalone) -> dict[str, Any] | None:
    runs = server.api(f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
    done = [r for r in runs if r["run_type"] == "scheduled" and r["state"] == "failed"]
    return done[0] if done else None


def _assert_scheduled_run_failed_at_once(server: Standalone, demo_tiny: Path) -> None:
    """Unpausing scheduled the day that just ended; the demo set has no folder for it."""
    run = _wait_for(
        "the scheduled run to fail", lambda: _failed_scheduled_run(server), 120, server.log
    )
    path = f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/ingest"
    ingest = server.api(path)
    assert ingest["state"] == "failed" and ingest["try_number"] == 1  # no pointless retries
    day = run["logical_date"][:10]
    assert f"{demo_tiny / 'production' / day}' does not exist" in json.dumps(
        server.api(f"{path}/logs/1")
    )
