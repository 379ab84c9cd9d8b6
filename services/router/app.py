"""The router: the one place that decides who answers each inbound message."""

from __future__ import annotations

from hilo.consent import OptKeywords
from hilo.erasure import erase_on_forget
from hilo.flowdefs import load_flows
from hilo.service import Runtime, Service
from services.router.handlers import HANDLED_EVENTS, RouterState, expire_quiet, on_fact
from services.router.routing import Policy
from services.router.settings import RouterSettings
from services.router.store import PERSONAL_COLUMNS, RouterStore


def build(settings: RouterSettings | None = None) -> Service:
    config = settings or RouterSettings()
    service = Service("router")
    # One consumer: a conversation's facts are decided in stream order.
    service.subscriber(*HANDLED_EVENTS, durable="router", max_ack_pending=5000, batch=256)(on_fact)

    # A forgotten contact's rows here are deleted, and the deletion announced.
    erase_on_forget(service, PERSONAL_COLUMNS)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        # An invalid flow file stops the start with its file and line (InvalidFlows).
        policy = Policy(
            flows=load_flows(config.hilo_flows_dir),
            opt_keywords=OptKeywords.build(
                config.router_opt_out_keywords_es,
                config.router_opt_out_keywords_en,
                config.router_opt_in_keywords_es,
                config.router_opt_in_keywords_en,
            ),
            voice_agent_idle=config.hours(config.router_voice_agent_idle_hours),
            human_idle=config.hours(config.router_human_idle_hours),
            call_flow_field=config.router_call_flow_field,
        )
        runtime.state["router"] = RouterState(policy, RouterStore())

    @service.background
    async def sweep(runtime: Runtime) -> None:
        await expire_quiet(runtime, config.router_sweep_seconds)

    return service


service = build()
