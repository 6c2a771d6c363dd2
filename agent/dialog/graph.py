"""Build the dialog graph: check_notifications -> router -> faq | booking | escalation -> respond."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.dialog.brain import Brain
from agent.dialog.nodes.booking import make_booking_node
from agent.dialog.nodes.escalation import make_escalation_node
from agent.dialog.nodes.faq import FaqTurn, make_faq_node
from agent.dialog.nodes.notifications import make_check_notifications_node
from agent.dialog.nodes.respond import respond
from agent.dialog.nodes.router import choose_route, make_router_node
from agent.dialog.state import ConversationState
from agent.dialog.tools.dealership import DealershipTools


def build_graph(brain: Brain, tools: DealershipTools, dealership_name: str) -> Any:
    """A compiled graph; its tools and brain are bound here, per process, never at import."""
    graph: Any = StateGraph(ConversationState)  # langgraph's overloads reject typed async nodes
    answers = FaqTurn(
        tools, dealership_name, brain
    )  # the faq node's, and the booking's for questions beside it
    graph.add_node("check_notifications", make_check_notifications_node(tools))
    graph.add_node("router", make_router_node(brain, tools))
    graph.add_node("faq", make_faq_node(answers, tools))
    graph.add_node("booking", make_booking_node(brain, tools, answers))
    graph.add_node("escalation", make_escalation_node(tools))
    graph.add_node("respond", respond)
    graph.add_edge(START, "check_notifications")
    graph.add_edge("check_notifications", "router")
    graph.add_conditional_edges("router", choose_route, ["faq", "booking", "escalation"])
    for node in ("faq", "booking", "escalation"):
        graph.add_edge(node, "respond")
    graph.add_edge("respond", END)
    return graph.compile()
