"""`eni-failover failover|failback PAIR`: a move on purpose, made by the function.

The request goes through the same code, lease, safety checks and notifications as an
automatic failover; the function refuses an unsafe move and says why. --force skips only
the checks the function deems safe to skip (only the source's health: see decide.plan), and
the outcome names them. --dry-run asks for the plan without taking the lease.
"""

from __future__ import annotations

from typing import Any

from eni_failover.config import FenceMode
from eni_failover.contract import MoveAction, operator_request
from eni_failover.observed import describe_slot
from eni_failover_cli.console import columns
from eni_failover_cli.deployment import Deployment
from eni_failover_cli.errors import CliError, ExitCode
from eni_failover_cli.invoke import FunctionFailed

# How each outcome ends the command (eni_failover.outcome.OutcomeKind values).
OUTCOME_EXIT = {
    "swapped": ExitCode.OK,
    "already-in-place": ExitCode.OK,
    "refused": ExitCode.REFUSED,
    "failed": ExitCode.FAILED,
}
PLAN_EXIT = {
    "move": ExitCode.OK,
    "already-in-place": ExitCode.OK,
    "refuse": ExitCode.REFUSED,
    "ignore": ExitCode.REFUSED,
}


def request(
    deployment: Deployment,
    action: MoveAction,
    pair_name: str,
    *,
    by: str,
    force: bool = False,
    dry_run: bool = False,
    fence: bool = False,
) -> dict[str, Any]:
    """The function's answer: {"outcomes": [outcome]} or, for a dry run, {"plan": ...}."""
    pair = deployment.pair(pair_name)
    try:
        return deployment.function.invoke(
            operator_request(
                action, pair=pair.name, force=force, dry_run=dry_run, fence=fence, requested_by=by
            )
        )
    except FunctionFailed as failure:
        raise _explain(failure, action, pair.name) from failure


def refuse_fence_without_mode(deployment: Deployment, pair_name: str) -> None:
    """`--fence` on a pair whose fence is `none` would move and fence nothing: refused
    before anything moves, as a wrong argument. Whoever asked for a fence counts on the
    primary being stopped or isolated afterwards; a move without it could leave both
    instances serving."""
    pair = deployment.pair(pair_name)
    if pair.fence in ("", FenceMode.NONE.value):
        raise CliError(
            f"pair {pair.name} has no fence (its `fence` setting is none), so --fence would "
            "fence nothing; nothing moved. Fail over without --fence and stop or isolate the "
            f"primary {pair.primary_instance_id} yourself, or set the pair's `fence` to stop "
            "or isolate and deploy.",
            exit_code=ExitCode.USAGE,
        )


def _explain(failure: FunctionFailed, action: MoveAction, pair: str) -> CliError:
    if failure.error_type == "FailoverIncomplete":
        return CliError(
            f"the {action} of {pair} did not finish: {failure.message}. The outcome was "
            "published to the notification topic. Lambda does not retry a request made by "
            f"the CLI: check `eni-failover status {pair}`, then run `eni-failover {action} "
            f"{pair}` again; it starts from where the interfaces are now (put back where "
            "they came from, or, if EC2 would not take them back, detached: then it resumes "
            "the move).",
            exit_code=ExitCode.FAILED,
        )
    if failure.error_type == "PairBusy":
        # The function says who holds the lease, since and until when, and what to do.
        return CliError(f"nothing moved: {failure.message}", exit_code=ExitCode.REFUSED)
    if failure.error_type == "TriggerInProgress":
        return CliError(
            f"nothing moved: {failure.message}. Check `eni-failover status {pair}` and try "
            "again when the other move has ended.",
            exit_code=ExitCode.REFUSED,
        )
    return CliError(f"the function failed: {failure.error_type}: {failure.message}")


def run(
    deployment: Deployment,
    action: MoveAction,
    pair_name: str,
    *,
    by: str,
    force: bool,
    dry_run: bool,
    fence: bool = False,
) -> tuple[ExitCode, dict[str, Any], str]:
    answer = request(
        deployment, action, pair_name, by=by, force=force, dry_run=dry_run, fence=fence
    )
    if dry_run:
        plan = answer["plan"]
        return PLAN_EXIT.get(plan["decision"], ExitCode.ERROR), answer, describe_plan(answer)
    [outcome] = answer["outcomes"]
    return OUTCOME_EXIT.get(outcome["outcome"], ExitCode.ERROR), answer, describe_outcome(outcome)


def describe_outcome(outcome: dict[str, Any]) -> str:
    kind = str(outcome["outcome"])
    lines = [
        f"{outcome['direction'].capitalize()} of pair {outcome['pair']}: {kind.upper()}",
        f"  {outcome['summary']}",
    ]
    if outcome["reasons"] and kind != "refused":  # a refusal's summary lists them already
        lines += [f"  - {reason}" for reason in outcome["reasons"]]
    if outcome["overridden_checks"]:
        lines.append(f"  checks overridden by --force: {', '.join(outcome['overridden_checks'])}")
    fence = outcome.get("fence")
    if fence:
        done = "done" if fence["done"] else "FAILED (not retried)"
        lines.append(f"  {fence['mode']} of {fence['instance_id']}: {done}; {fence['detail']}")
    if outcome["forced_detach"]:
        lines.append("  the detach was forced (the source was stopped, impaired or hung)")
    # A function deployed before notes answers without them.
    lines += [f"  {note}" for note in outcome.get("notes", [])]
    if outcome["steps"]:
        lines.append("  timeline:")
        lines += columns(
            [
                (f"+{s['seconds']:.2f} s", s["step"] + (f": {s['detail']}" if s["detail"] else ""))
                for s in outcome["steps"]
            ],
            indent=4,
        )
    lines.append("  now:")
    lines += [f"    {_interface_now(i)}" for i in outcome["interfaces"]]
    # A function deployed before address kinds answers without them.
    lines += [f"    {address_now(a)}" for a in outcome.get("addresses", [])]
    if kind == "refused":
        lines.append("  nothing moved; the refusal was also sent to the notification topic")
    return "\n".join(lines)


def _interface_now(interface: dict[str, Any]) -> str:
    if not interface["exists"]:
        return f"{interface['interface_id']}: does not exist"
    if interface["attached_to"] is None:
        where = "floating, attached to nothing"
    else:
        slot = describe_slot(interface["device_index"], interface.get("network_card_index") or 0)
        where = f"on {interface['attached_to']} at {slot} ({interface['attachment_status']})"
    return (
        f"{interface['interface_id']}: {where}; Elastic IP {interface['elastic_ip'] or '-'}, "
        f"MAC {interface['mac_address'] or '-'}"
    )


def address_now(address: dict[str, Any]) -> str:
    """A route, an Elastic IP or a private IP, and where it is (outcome.to_dict's form)."""
    name = f"{address['kind']} {address['address']}"
    if not address["exists"]:
        return f"{name}: does not exist"
    if address["on_instance"]:
        where = f"on {address['on_instance']} ({address['on_interface']})"
    elif address["on_interface"]:
        where = f"on {address['on_interface']}"
    else:
        where = "on no instance"
    detail = f", {address['detail']}" if address.get("detail") else ""
    return f"{name}: {where}, {address['state'] or 'state unknown'}{detail}"


def describe_plan(answer: dict[str, Any]) -> str:
    plan = answer["plan"]
    decision = plan["decision"]
    head = f"Dry run of {answer['direction']} for pair {answer['pair']}: "
    if decision == "move":
        lines = [head + "the function would MOVE (nothing was changed)"]
        lines += [
            f"  {m['interface_id']} from {m['from'] or 'nowhere (floating)'} to {m['to']} "
            f"at {describe_slot(m['device_index'], m.get('network_card_index') or 0)}"
            for m in plan["moves"]
        ]
        lines += [
            f"  {a['address']} from {a['from'] or 'no instance'} to {a['to']}"
            for a in plan.get("addresses", [])
        ]
        if plan["moves"]:  # an address-only pair detaches nothing
            lines.append(
                "  the detach would be forced from the start (the source is stopped or impaired)"
                if plan["force_detach"]
                else "  a graceful detach first, forced only if it hangs"
            )
        if plan["resuming"]:
            lines.append("  it would resume a move that was cut short")
        if plan["overridden_checks"]:
            lines.append(f"  checks --force overrides: {', '.join(plan['overridden_checks'])}")
        return "\n".join(lines)
    if decision == "already-in-place":
        return head + "nothing to do, the interfaces and addresses are there already"
    lines = [head + "the function would REFUSE"]
    lines += [f"  - {reason}" for reason in plan.get("reasons", [])]
    return "\n".join(lines)
