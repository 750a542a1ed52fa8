"""One sandbox for the whole package, as `eni-failover sandbox up` runs it, and the CLI.

The sandbox runs in this process (moto server on 127.0.0.1, the faithful EC2, the bridge
in a thread); the commands run through `main()` with `--sandbox=FILE`, exactly as from a
shell. Synthesizing the app takes seconds, so the sandbox is started once and every test
puts the pair back the way it found it (`fresh_pair`).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from eni_failover import ec2
from eni_failover.history import HISTORY_INDEX
from eni_failover.pair_record import LEASE_ATTRIBUTES
from eni_failover.prober import ProberLease
from eni_failover_cli.console import Console
from eni_failover_cli.main import main
from eni_failover_emulator.delivery import drain
from eni_failover_emulator.function import LocalFunction
from eni_failover_emulator.sandbox import Sandbox, SandboxOptions
from eni_failover_emulator.service import Behaviour

# Short, non-zero latencies: every poll loop really polls, and the suite stays quick.
FAST = SandboxOptions(
    attach_seconds=0.15,
    detach_seconds=0.25,
    force_detach_seconds=0.1,
    bridge_interval_seconds=0.05,
    # Quick probing the stack still accepts (interval 1 s at least; the defaults are 1 s,
    # 1 s, 5 failures and confirmations 0.25 s apart).
    probe_interval_seconds=1,
    probe_timeout_seconds=0.5,
)
PAIR = "demo"


@dataclass
class Ran:
    """What one command did: its exit code and what it wrote."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class RunningSandbox:
    sandbox: Sandbox
    path: Path
    template_path: Path
    narration: list[str] = field(default_factory=list)

    @property
    def table(self) -> str:
        return self.sandbox.info.outputs["StateTableName"]

    @property
    def alarm_name(self) -> str:
        return f"EniFailover-{PAIR}-primary-status"

    @property
    def rule_name(self) -> str:
        """The stack's one state-change rule, which serves every pair."""
        return "EniFailover-instance-state"

    def where(self) -> str | None:
        """The instance the floating interface is attached to, if any."""
        view = ec2.describe_interfaces(
            self.sandbox.clients.ec2, [self.sandbox.topology.interface_id]
        )[self.sandbox.topology.interface_id]
        return view.attachment.instance_id if view.attachment else None

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification since the last call, taken off the inbox."""
        return [
            json.loads(body)
            for body in drain(self.sandbox.clients.sqs, self.sandbox.info.inbox_queue_url)
        ]

    def subjects(self) -> list[str]:
        return [str(n.get("Subject")) for n in self.notifications()]

    def run(self, *arguments: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        code = main([f"--sandbox={self.path}", *arguments], console=Console(stdout=out, stderr=err))
        return Ran(code, out.getvalue(), err.getvalue())


def wait_for(condition: Callable[[], bool], *, seconds: float = 10.0) -> bool:
    """Poll until `condition` holds or the time is up (the bridge works in its own thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture(scope="package")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    directory = tmp_path_factory.mktemp("sandbox")
    narration: list[str] = []
    with Sandbox.start(FAST, narrate=narration.append) as sandbox:
        path = directory / "sandbox.json"
        sandbox.info.write(path)
        template_path = directory / "template.json"
        template_path.write_text(json.dumps(sandbox.template))
        yield RunningSandbox(sandbox, path, template_path, narration)


@pytest.fixture
def sandbox(running: RunningSandbox) -> Iterator[RunningSandbox]:
    """The running sandbox with the pair as a test expects it: armed, on the primary."""
    restore(running)
    yield running
    restore(running)


def clear_history(running: RunningSandbox) -> None:
    """Take the pair's history entries off the state table (the history index finds them)."""
    dynamodb = running.sandbox.clients.dynamodb
    items = dynamodb.query(
        TableName=running.table,
        IndexName=HISTORY_INDEX,
        KeyConditionExpression="history_pair = :pair",
        ExpressionAttributeValues={":pair": {"S": PAIR}},
    )["Items"]
    for item in items:
        dynamodb.delete_item(TableName=running.table, Key={"id": item["id"]})


def restore(running: RunningSandbox) -> None:
    sandbox = running.sandbox
    clients, topology, sim = sandbox.clients, sandbox.topology, sandbox.sim
    sim.clear_faults()
    sim.settle()
    if sandbox.services is not None:
        sandbox.services.primary.set(Behaviour.HEALTHY)
        sandbox.services.standby.set(Behaviour.HEALTHY)
    instances = [topology.primary_instance_id, topology.standby_instance_id]
    clients.ec2.start_instances(InstanceIds=instances)
    sim.settle()
    for instance in instances:
        sim.set_status(instance, system="ok", instance="ok", attached_ebs="ok")
    clients.events.enable_rule(Name=running.rule_name)
    clients.cloudwatch.enable_alarm_actions(AlarmNames=[running.alarm_name])
    clients.cloudwatch.set_alarm_state(
        AlarmName=running.alarm_name, StateValue="OK", StateReason="test reset"
    )
    # A test that interrupted a move in this process (Ctrl-C) leaves its lease behind, held
    # by this very process, which is alive: no rerun would take it over.
    clients.dynamodb.update_item(
        TableName=running.table,
        Key={"id": {"S": f"pair#{PAIR}"}},
        UpdateExpression=f"REMOVE {', '.join(LEASE_ATTRIBUTES)}",
    )
    if running.where() != topology.primary_instance_id:
        # A function of its own: the bridge's may be busy in its thread.
        function = LocalFunction(
            sandbox.info.function.environment,
            name=sandbox.info.function.name,
            timeout_seconds=sandbox.info.function.timeout_seconds,
            endpoint_url=sandbox.endpoint,
        )
        function.invoke({"action": "failback", "pair": PAIR, "force": True})
    assert running.where() == topology.primary_instance_id
    # A pair with no history: no pause, no drill window, no outcome, no readiness.
    clients.dynamodb.delete_item(TableName=running.table, Key={"id": {"S": f"pair#{PAIR}"}})
    clear_history(running)
    if sandbox.services is not None:
        _wait_until_the_prober_sees_the_service(running)
    running.notifications()
    drain(clients.sqs, sandbox.info.outputs["DeadLetterQueueUrl"])
    running.narration.clear()


def _wait_until_the_prober_sees_the_service(running: RunningSandbox, timeout: float = 30.0) -> None:
    """A test that broke the service leaves the prober's last saved result failing until
    its next save: wait for a saved answer, so `status` and `check` start from a healthy
    pair."""
    lease = ProberLease(running.sandbox.clients.dynamodb, running.table)
    give_up = time.monotonic() + timeout
    while True:
        memory, _ = lease.read_memory()
        service = memory.get("last", {}).get(PAIR, {}).get("service") or {}
        if service.get("ok") or time.monotonic() > give_up:
            return
        time.sleep(0.5)
