"""A deployed ENI Failover on this machine, for the operator CLI to be tried against.

`eni-failover sandbox up` runs one: moto in server mode on 127.0.0.1 with the faithful
EC2 (the demo's latencies), one pair built through the EC2 API, the CDK app synthesized
with that pair's IDs and its resources stood up from the template (topics, queues, state
table, alarms, rules, outputs), and a bridge doing what moto does not: the alarm's actions
and SNS's delivery to the function (eni_failover_emulator.bridge). The sandbox file tells other
processes where it is and what the stack's outputs would be (eni_failover_emulator.sandbox_file).

IDs are reproducible: moto's random generator is seeded after a reset, so the same pair
(instance, interface and address IDs) comes up every time, and a template synthesized for
it once can be reused (SandboxOptions.template).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from moto.server import ThreadedMotoServer

from eni_failover.clients import AwsClients
from eni_failover.config import ConfigError
from eni_failover.contract import DEFAULT_STACK_NAME
from eni_failover_ec2sim import FaithfulEC2, PairTopology, build_pair
from eni_failover_emulator import drill
from eni_failover_emulator.bridge import AlarmActions, Bridge, TriggerDelivery
from eni_failover_emulator.endpoint import ACCOUNT_ID, REGION, emulator_clients, moto_api
from eni_failover_emulator.function import LocalFunction
from eni_failover_emulator.prober import LocalProber
from eni_failover_emulator.sandbox_file import (
    SandboxError,
    SandboxFunction,
    SandboxInfo,
    SandboxPair,
)
from eni_failover_emulator.service import PairServices
from eni_failover_emulator.template import (
    DeployedFunction,
    TemplateError,
    deploy,
    packaged_config,
    pair_context,
    probe_context,
    synthesize,
)

if TYPE_CHECKING:
    pass

# Any fixed number: the same pair IDs on every start (see the module docstring).
DEFAULT_SEED = 20261126
HOST = "127.0.0.1"


# --- the running sandbox ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SandboxOptions:
    pair_name: str = drill.PAIR_NAME
    stack_name: str = DEFAULT_STACK_NAME
    notify_email: str = drill.NOTIFY_EMAIL
    attach_seconds: float = drill.ATTACH_SECONDS
    detach_seconds: float = drill.DETACH_SECONDS
    force_detach_seconds: float = drill.FORCE_DETACH_SECONDS
    stop_seconds: float = drill.STOP_SECONDS
    # How often the bridge looks for alarm changes and SNS deliveries.
    bridge_interval_seconds: float = 0.1
    seed: int = DEFAULT_SEED
    # A template synthesized earlier for this sandbox's pair; None synthesizes (~15 s).
    template: dict[str, Any] | None = None
    # The pair's probe (None: not probed, no prober). The prober runs in the sandbox's own
    # VPC and subnet; the probing keys left None keep the stack's defaults.
    probe: str | None = drill.PROBE
    probe_interval_seconds: float | None = None
    probe_timeout_seconds: float | None = None
    probe_failures: int | None = None


class Sandbox:
    """A running sandbox in this process; stop() (or leaving the `with`) ends it."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self._sim: FaithfulEC2 | None = None
        self._bridge: Bridge | None = None
        self._prober: LocalProber | None = None
        # The pair's service: a listener per instance, which tests and the demo can break.
        self.services: PairServices | None = None
        self.endpoint = ""
        self.clients: AwsClients
        self.topology: PairTopology
        self.template: dict[str, Any]
        self.deployed: DeployedFunction
        self.function: LocalFunction
        self.info: SandboxInfo

    @property
    def sim(self) -> FaithfulEC2:
        """The faithful EC2, for tests that need a status check to fail."""
        if self._sim is None:
            raise SandboxError("the sandbox is not running")
        return self._sim

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            raise SandboxError("the sandbox is not running")
        return self._bridge

    @classmethod
    def start(
        cls, options: SandboxOptions | None = None, *, narrate: Callable[[str], None] = print
    ) -> Sandbox:
        sandbox = cls()
        try:
            sandbox._start(options or SandboxOptions(), narrate)
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def _start(self, options: SandboxOptions, narrate: Callable[[str], None]) -> None:
        # The emulator's HTTP server would log every request.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # The pair launches from a made-up image; moto's sample AMIs only cost time.
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        self._server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # A clean emulator and a seeded generator: the same IDs on every start.
        moto_api(self.endpoint, "reset")
        moto_api(self.endpoint, f"seed?a={options.seed}")
        self._sim = FaithfulEC2(
            attach_seconds=options.attach_seconds,
            detach_seconds=options.detach_seconds,
            force_detach_seconds=options.force_detach_seconds,
            stop_seconds=options.stop_seconds,
        ).__enter__()
        self.clients = emulator_clients(self.endpoint, REGION)
        self.topology = build_pair(self.clients.ec2, name=options.pair_name, sim=self._sim)

        context = pair_context(
            primary_instance_id=self.topology.primary_instance_id,
            standby_instance_id=self.topology.standby_instance_id,
            interface_id=self.topology.interface_id,
            notify_email=options.notify_email,
            pair_name=options.pair_name,
            stack_name=options.stack_name,
        )
        if options.probe is not None:
            context |= probe_context(
                probe=options.probe,
                vpc_id=self.topology.vpc_id,
                subnet_ids=(self.topology.subnet_id,),
                interval_seconds=options.probe_interval_seconds,
                timeout_seconds=options.probe_timeout_seconds,
                failures=options.probe_failures,
            )
        if options.template is None:
            narrate("synthesizing the CDK app for the sandbox's pair (takes a few seconds)")
            with tempfile.TemporaryDirectory(prefix="eni-failover-sandbox-") as outdir:
                self.template = synthesize(context, Path(outdir))
        else:
            self.template = options.template
            _check_template_is_for(self.template, self.topology, options.pair_name)
        self.deployed = deploy(
            self.template,
            self.clients,
            cloudwatch=self.clients.cloudwatch,
            events=self.clients.events,
        )
        self.function = LocalFunction(
            self.deployed.environment,
            name=self.deployed.function_name,
            timeout_seconds=self.deployed.timeout_seconds,
            endpoint_url=self.endpoint,
        )
        self.function.cold_start()
        self._bridge = Bridge(
            AlarmActions(
                self.clients.sns,
                alarm_names=self.deployed.alarm_names,
                account_id=ACCOUNT_ID,
                region=REGION,
            ),
            TriggerDelivery(
                self.clients.sqs,
                queue_url=self.deployed.trigger_delivery_queue_url,
                subscription_arn=self.deployed.trigger_subscription_arn,
                invoke=self.function.invoke,
            ),
            interval_seconds=options.bridge_interval_seconds,
            narrate=narrate,
        )
        self._bridge.start()
        self._start_prober(narrate)
        self.info = SandboxInfo(
            pid=os.getpid(),
            endpoint=self.endpoint,
            region=REGION,
            account_id=ACCOUNT_ID,
            stack_name=options.stack_name,
            started_at=datetime.now(UTC),
            outputs=self.deployed.outputs,
            function=SandboxFunction(
                name=self.deployed.function_name,
                environment=self.deployed.environment,
                timeout_seconds=self.deployed.timeout_seconds,
            ),
            inbox_queue_url=self.deployed.inbox_queue_url,
            pair=SandboxPair(
                name=options.pair_name,
                primary_instance_id=self.topology.primary_instance_id,
                standby_instance_id=self.topology.standby_instance_id,
                interface_id=self.topology.interface_id,
                private_ips=self.topology.private_ips,
                public_ip=self.topology.public_ip,
                mac_address=self.topology.mac_address,
            ),
        )

    @property
    def prober(self) -> LocalProber | None:
        """The prober, running when the template has one (the pair is probed)."""
        return self._prober

    def _start_prober(self, narrate: Callable[[str], None]) -> None:
        deployed = self.deployed.prober
        if deployed is None:
            return
        topology = self.topology
        self.services = PairServices(
            self.clients.ec2,
            primary_instance_id=topology.primary_instance_id,
            standby_instance_id=topology.standby_instance_id,
            interface_id=topology.interface_id,
        )
        self._prober = LocalProber(
            deployed.environment,
            name=deployed.function_name,
            timeout_seconds=deployed.timeout_seconds,
            endpoint_url=self.endpoint,
            resolve=self.services.resolve,
        ).start()
        probing = self._prober.settings.failover.probing
        [pair] = self._prober.settings.failover.probed_pairs
        if not self._prober.wait_until_reported():
            narrate("the prober has not reported its first results yet; `check` says so")
        narrate(
            f"prober running (invoked every minute, as its schedule would): probes {pair.probe} "
            f"every {probing.interval_seconds:g} s, after a failed one "
            f"{probing.confirm_seconds:g} s apart, a failure after {probing.failures} in a row; "
            f"the primary's service listens on {_address(self.services.primary.address)}, "
            f"the standby's on {_address(self.services.standby.address)}"
        )

    def stop(self) -> None:
        """Stop the prober and the bridge, the faithful EC2 and the server; safe to repeat."""
        prober, self._prober = self._prober, None
        if prober is not None:
            prober.stop()
        bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.stop()
        services, self.services = self.services, None
        if services is not None:
            services.close()
        sim, self._sim = self._sim, None
        if sim is not None:
            sim.__exit__(None, None, None)
        server, self._server = self._server, None
        if server is not None:
            # moto's state is the process's: leave none behind for whatever runs next here
            # (an in-process sandbox in tests, then `make demo`'s drill, say).
            with contextlib.suppress(OSError):
                moto_api(self.endpoint, "reset")
            server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


def _check_template_is_for(template: dict[str, Any], topology: PairTopology, pair: str) -> None:
    """A reused template must name the pair the sandbox built, or nothing would match."""
    try:
        configured = packaged_config(template).pair_named(pair)
    except (TemplateError, ConfigError) as error:
        raise SandboxError(f"the template's packaged pairs cannot be read: {error}") from error
    expected = {
        "primary": topology.primary_instance_id,
        "standby": topology.standby_instance_id,
        "interfaces": [topology.interface_id],
    }
    found = {
        "primary": configured.primary_instance_id if configured else None,
        "standby": configured.standby_instance_id if configured else None,
        "interfaces": list(configured.interface_ids) if configured else None,
    }
    if found != expected:
        raise SandboxError(
            f"the template was synthesized for other IDs than the sandbox's pair {pair!r} "
            f"({json.dumps(found)} instead of {json.dumps(expected)}); start without "
            "--template to synthesize a fresh one"
        )
