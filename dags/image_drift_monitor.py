"""
### image_drift_monitor

Watches the images the production brain-MRI classifier received on the run's
logical date and decides whether they drifted from the training data.

**ingest** (validate, quarantine bad files, write the manifest) →
**extract** (features, one mapped task per manifest shard) → **compare**
(against the baseline profile) → **report** (summary page, Evidently report,
index of all runs) → **alert** (Slack, e-mail, webhook, PagerDuty; deduplicated)
→ **decide** (branch) → **launch_retraining** (severity high, or forced) |
**schedule_retraining** (medium) | **skip_retraining** → **join**.

Every task is keyed on the logical date: rerunning a date overwrites the same
outputs and creates no duplicate rows or alerts.

Parse-time settings (environment of the DAG processor):
`DRIFTLOOP_MONITOR__SCHEDULE` (default `@daily`), `DRIFTLOOP_RUNNER__MODE`
(`local`: tasks call `driftloop.monitor` in process; `kubernetes`: each step
runs `driftloop monitor step NAME` in the steps image), and
`DRIFTLOOP_MONITOR__RETRAIN_SEVERITY` (the form's default). Everything else is
read from driftloop's settings inside the tasks.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from airflow.sdk import Asset, AssetAlias, CronDataIntervalTimetable, Param, dag, task

DAG_ID = "image_drift_monitor"
SCHEDULE = os.environ.get("DRIFTLOOP_MONITOR__SCHEDULE", "@daily")
RUNNER_MODE = os.environ.get("DRIFTLOOP_RUNNER__MODE", "local")
DEFAULT_RETRAIN_SEVERITY = os.environ.get("DRIFTLOOP_MONITOR__RETRAIN_SEVERITY", "high")
# Same value as driftloop.constants.CHAMPION_ASSET_URI (a test pins it); written
# here so parsing this file never imports driftloop.
CHAMPION = Asset(name="driftloop_champion", uri="driftloop://models/champion")
# A declared Asset outlet emits an event whenever the task succeeds; through an
# alias the launch task emits one only when the pipeline promoted a model.
PROMOTIONS = AssetAlias("driftloop_promotions")

TRANSIENT = {
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=10),
}
TIMEOUTS = {
    "ingest": dt.timedelta(minutes=30),
    "extract": dt.timedelta(minutes=60),
    "performance": dt.timedelta(minutes=30),
    "compare": dt.timedelta(minutes=30),
    "report": dt.timedelta(minutes=30),
    "alert": dt.timedelta(minutes=10),
    "decide": dt.timedelta(minutes=5),
    "launch_retraining": dt.timedelta(hours=3),
    "schedule_retraining": dt.timedelta(minutes=5),
    "skip_retraining": dt.timedelta(minutes=5),
    "join": dt.timedelta(minutes=5),
}
# Pods read the run's date and Params from their environment (see _pod).
DATE_TEMPLATE = "{{ (logical_date or dag_run.run_after).strftime('%Y-%m-%d') }}"


def _day(context: dict[str, Any]) -> str:
    """The run's logical date; a run triggered with no logical date uses run_after.

    Scheduled runs use data intervals: the run made at midnight has the day that
    just ended as its logical date, so it checks a complete day of images.
    """
    when = context.get("logical_date") or context["dag_run"].run_after
    return str(when.date().isoformat())


def _settings() -> Any:
    from driftloop.config import load_settings

    return load_settings()


def _links(settings: Any, context: dict[str, Any]) -> dict[str, str]:
    """Links the report shows: this Airflow run, when the UI's address is configured."""
    if not settings.reports.airflow_base_url:
        return {}
    base = settings.reports.airflow_base_url.rstrip("/")
    return {"airflow_run": f"{base}/dags/{DAG_ID}/runs/{context['dag_run'].run_id}"}


def _announce_promotion(context: dict[str, Any], result: Any) -> None:
    """Emit the champion asset event when the retraining pipeline promoted a model."""
    if isinstance(result, dict) and result.get("promoted"):
        context["outlet_events"][PROMOTIONS].add(CHAMPION, extra={"run_key": result["run_key"]})


@task.branch(task_id="decide", execution_timeout=TIMEOUTS["decide"])
def decide(severity: str, **context: Any) -> str:
    """Branch on severity: high or forced -> launch, medium -> schedule, else skip."""
    from driftloop.monitor import decide as choose

    params = context["params"]
    decision: str = choose(
        severity,
        bool(params["force_retrain"]),
        _settings(),
        retrain_severity=params["retrain_severity"],
    )
    # Branching ends the task before its return value is stored: push it first.
    context["ti"].xcom_push(key="decision", value=decision)
    return decision


@task(task_id="skip_retraining", execution_timeout=TIMEOUTS["skip_retraining"])
def skip_retraining(**context: Any) -> str:
    """Nothing to retrain today."""
    return f"no retraining for {_day(context)}"


def _local_tasks() -> dict[str, Any]:
    """The steps as in-process TaskFlow tasks calling driftloop.monitor."""

    @task(task_id="ingest", execution_timeout=TIMEOUTS["ingest"], **TRANSIENT)
    def ingest(**context: Any) -> list[int]:
        """Returns the manifest's shard numbers (mapped over); the counts go to XCom 'summary'."""
        from airflow.sdk.exceptions import AirflowFailException

        from driftloop.errors import ConfigError, InputError
        from driftloop.monitor import step_ingest

        try:
            summary = step_ingest(
                _settings(),
                _day(context),
                context["params"]["source"] or None,
                airflow_run_id=context["dag_run"].run_id,
            )
        except (ConfigError, InputError) as exc:
            # A missing folder or setting will not appear on a retry: fail now, clearly.
            raise AirflowFailException(str(exc)) from exc
        context["ti"].xcom_push(key="summary", value=summary)
        return list(summary["shards"])

    @task(task_id="extract", execution_timeout=TIMEOUTS["extract"], **TRANSIENT)
    def extract(shard: int, **context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_extract

        # The manifest sits at the day's fixed place (Layout.manifest), so only
        # the shard number travels between tasks. One process per shard: the
        # mapping is the parallelism, and worker processes spawned inside an
        # Airflow 3 task re-run the `airflow` script, which has no database there.
        return step_extract(_settings(), _day(context), None, shard, workers=1)

    @task(
        task_id="compare",
        execution_timeout=TIMEOUTS["compare"],
        retries=1,
        trigger_rule="none_failed",
    )
    def compare(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_compare

        return step_compare(_settings(), _day(context), context["params"]["baseline"])

    @task(
        task_id="performance",
        execution_timeout=TIMEOUTS["performance"],
        trigger_rule="none_failed",
        **TRANSIENT,
    )
    def performance(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_performance

        return step_performance(_settings(), _day(context))

    @task(task_id="report", execution_timeout=TIMEOUTS["report"], **TRANSIENT)
    def report(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_report

        settings = _settings()
        return step_report(settings, _day(context), links=_links(settings, context))

    @task(task_id="alert", execution_timeout=TIMEOUTS["alert"], **TRANSIENT)
    def alert(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_alert

        return step_alert(_settings(), _day(context), dry_run=bool(context["params"]["dry_run"]))

    @task(
        task_id="launch_retraining",
        execution_timeout=TIMEOUTS["launch_retraining"],
        retries=1,
        retry_delay=dt.timedelta(minutes=1),
        outlets=[PROMOTIONS],
    )
    def launch_retraining(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_launch

        forced = bool(context["params"]["force_retrain"])
        result = step_launch(_settings(), _day(context), trigger="forced" if forced else "drift")
        _announce_promotion(context, result)
        return result

    @task(
        task_id="schedule_retraining",
        execution_timeout=TIMEOUTS["schedule_retraining"],
        **TRANSIENT,
    )
    def schedule_retraining(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import step_schedule

        return step_schedule(_settings(), _day(context))

    @task(
        task_id="join",
        trigger_rule="none_failed_min_one_success",
        execution_timeout=TIMEOUTS["join"],
    )
    def join(**context: Any) -> dict[str, Any]:
        from driftloop.monitor import finish_run

        settings = _settings()
        decision = context["ti"].xcom_pull(task_ids="decide", key="decision")
        return finish_run(settings, _day(context), str(decision), links=_links(settings, context))

    return {
        "ingest": ingest,
        "extract": extract,
        "performance": performance,
        "compare": compare,
        "report": report,
        "alert": alert,
        "launch_retraining": launch_retraining,
        "schedule_retraining": schedule_retraining,
        "join": join,
    }


# The steps image runs as user and group 10001, which owns the artifact volume.
STEPS_UID = 10001
STEP_LABELS = {
    # The NetworkPolicy driftloop-steps-no-ingress selects step pods by this label.
    "app.kubernetes.io/component": "step",
    "app.kubernetes.io/part-of": "driftloop",
}
CONFIG_DIR = "/etc/driftloop"
DATA_DIR = "/data"


def _step_pod_class() -> Any:
    """KubernetesPodOperator whose every container passes Pod Security "restricted".

    The driftloop namespace enforces "restricted"; the operator adds its XCom
    sidecar without a security context, which admission would reject.
    """
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    class StepPodOperator(KubernetesPodOperator):  # type: ignore[misc]
        def build_pod_request_obj(self, context: Any = None) -> Any:
            pod = super().build_pod_request_obj(context)
            for container in pod.spec.containers:
                if container.security_context is None:
                    container.security_context = _container_security()
            return pod

    return StepPodOperator


def _container_security() -> Any:
    from kubernetes.client import models as k8s

    return k8s.V1SecurityContext(
        allow_privilege_escalation=False,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
    )


def _pod_spec_parts(runner: Any) -> dict[str, Any]:
    """Security, settings (ConfigMap + Secret), data volume and labels of a step pod."""
    from kubernetes.client import models as k8s

    return {
        "labels": dict(STEP_LABELS),
        "security_context": k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=STEPS_UID,
            run_as_group=STEPS_UID,
            # The volume's files get group 10001, so the steps can write them.
            fs_group=STEPS_UID,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        "container_security_context": _container_security(),
        # Database URL, alert keys: DRIFTLOOP_* variables from the Secret.
        "env_from": [
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="driftloop-secrets"))
        ],
        "volumes": [
            k8s.V1Volume(
                name="data",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                    claim_name=runner.pvc_name
                ),
            ),
            k8s.V1Volume(
                name="config", config_map=k8s.V1ConfigMapVolumeSource(name="driftloop-config")
            ),
        ],
        "volume_mounts": [
            k8s.V1VolumeMount(name="data", mount_path=DATA_DIR),
            k8s.V1VolumeMount(name="config", mount_path=CONFIG_DIR, read_only=True),
        ],
    }


def _pod(task_id: str, script: str, *, mapped: bool = False, **extra: Any) -> Any:
    """A pod running one `driftloop monitor step` in the steps image.

    Imported and configured only in kubernetes mode, at parse time: the image,
    namespace, service account, resources and volume come from driftloop's settings.
    """
    from kubernetes.client import models as k8s

    runner = _settings().runner
    env = {
        "DRIFTLOOP_CONFIG": f"{CONFIG_DIR}/driftloop.yaml",
        "DRIFTLOOP_HOME": DATA_DIR,
        "RUN_DATE": DATE_TEMPLATE,
        "RUN_SOURCE": "{{ params.source or '' }}",
        "RUN_BASELINE": "{{ params.baseline }}",
        "RUN_FLAGS": "{{ '--dry-run' if params.dry_run else '' }} "
        "{{ '--force-retrain' if params.force_retrain else '' }}",
        "RUN_DECISION": "{{ ti.xcom_pull(task_ids='decide', key='decision') or '' }}",
    }
    kwargs: dict[str, Any] = {
        "task_id": task_id,
        "name": f"driftloop-{task_id.replace('_', '-')}",
        "image": runner.image,
        "namespace": runner.namespace,
        "service_account_name": runner.service_account,
        "cmds": [
            "/bin/sh",
            "-c",
            f"exec driftloop monitor step {script} --xcom /airflow/xcom/return.json",
            task_id,
        ],
        "env_vars": env,
        "container_resources": k8s.V1ResourceRequirements(
            requests={"cpu": runner.cpu_request, "memory": runner.memory_request},
            limits={"cpu": runner.cpu_limit, "memory": runner.memory_limit},
        ),
        **_pod_spec_parts(runner),
        "do_xcom_push": True,
        "get_logs": True,
        "on_finish_action": "delete_succeeded_pod",
        "execution_timeout": TIMEOUTS[task_id],
        "multiple_outputs": not mapped,
        **extra,
    }
    operator = _step_pod_class()
    if mapped:
        return operator.partial(**kwargs)
    return operator(**kwargs)


def _shard_argument(shard: int) -> list[str]:
    # sh -c 'SCRIPT' NAME SHARD: the shard reaches the script as "$1".
    return [str(shard)]


def _kubernetes_tasks() -> dict[str, Any]:
    """The same steps as pods; task ids and dependencies match the local mode."""
    # The ingest pod's XCom is the shard list (what extract is mapped over).
    ingest = _pod(
        "ingest",
        'ingest --date "$RUN_DATE" --source "$RUN_SOURCE" --xcom-field shards',
        multiple_outputs=False,
        **TRANSIENT,
    )
    compare = _pod(
        "compare",
        'compare --date "$RUN_DATE" --baseline "$RUN_BASELINE"',
        retries=1,
        trigger_rule="none_failed",
    )
    performance = _pod(
        "performance", 'performance --date "$RUN_DATE"', trigger_rule="none_failed", **TRANSIENT
    )
    report = _pod("report", 'report --date "$RUN_DATE"', **TRANSIENT)
    alert = _pod("alert", 'alert --date "$RUN_DATE" $RUN_FLAGS', **TRANSIENT)
    launch = _pod(
        "launch_retraining",
        'launch --date "$RUN_DATE" $RUN_FLAGS',
        retries=1,
        outlets=[PROMOTIONS],
        post_execute=_announce_promotion,
    )
    schedule = _pod("schedule_retraining", 'schedule --date "$RUN_DATE"', **TRANSIENT)
    join = _pod(
        "join",
        'finish --date "$RUN_DATE" --decision "$RUN_DECISION"',
        trigger_rule="none_failed_min_one_success",
    )
    extract = _pod("extract", 'extract --date "$RUN_DATE" --shard "$1"', mapped=True, **TRANSIENT)
    return {
        "ingest": ingest,
        "extract": extract,
        "performance": performance,
        "compare": compare,
        "report": report,
        "alert": alert,
        "launch_retraining": launch,
        "schedule_retraining": schedule,
        "join": join,
    }


@dag(
    dag_id=DAG_ID,
    # Data intervals (not cron triggers): the midnight run checks the day that ended.
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["driftloop", "monitoring"],
    default_args={"owner": "driftloop"},
    params={
        "source": Param(
            None,
            type=["null", "string"],
            title="Image source",
            description="Folder or URI of the day's images; {date} becomes the logical date "
            "(YYYY-MM-DD). Empty: the monitor.source setting.",
        ),
        "baseline": Param(
            "current",
            type="string",
            title="Baseline",
            description="Baseline profile URI to compare against, or 'current'.",
        ),
        "retrain_severity": Param(
            DEFAULT_RETRAIN_SEVERITY,
            type="string",
            enum=["none", "low", "medium", "high"],
            title="Retrain at severity",
            description="Launch retraining at or above this drift severity ('none': only "
            "when forced). Medium drift below it records a scheduled retraining.",
        ),
        "force_retrain": Param(
            False,
            type="boolean",
            title="Force retraining",
            description="Launch the retraining pipeline whatever the severity.",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Compute and report, but send no alerts.",
        ),
    },
)
def image_drift_monitor() -> None:
    if RUNNER_MODE == "kubernetes":
        pods = _kubernetes_tasks()
        ingested = pods["ingest"].output
        extracted = pods["extract"].expand(arguments=ingested.map(_shard_argument))
        performance = pods["performance"]
        compared = pods["compare"]
        severity = compared.output["severity"]
        report, alert = pods["report"], pods["alert"]
        launch, schedule, join = (
            pods["launch_retraining"],
            pods["schedule_retraining"],
            pods["join"],
        )
    else:
        tasks = _local_tasks()
        ingested = tasks["ingest"]()
        extracted = tasks["extract"].expand(shard=ingested)
        performance = tasks["performance"]()
        compared = tasks["compare"]()
        severity = compared["severity"]
        report, alert = tasks["report"](), tasks["alert"]()
        launch = tasks["launch_retraining"]()
        schedule = tasks["schedule_retraining"]()
        join = tasks["join"]()
    branch = decide(severity)
    extracted >> performance >> compared >> report >> alert >> branch
    branch >> [launch, schedule, skip_retraining()] >> join


image_drift_monitor()
