"""Reports for supervisors: the center's measures of the chat channel, computed in SQL."""

from chatsvc.reports.chats import (
    AgentReport,
    ChatFigures,
    ChatReport,
    HourlyReport,
    by_agent,
    by_hour_and_weekday,
    chat_figures,
    chat_report,
)
from chatsvc.reports.period import MAX_DAYS, Period

__all__ = [
    "MAX_DAYS",
    "AgentReport",
    "ChatFigures",
    "ChatReport",
    "HourlyReport",
    "Period",
    "by_agent",
    "by_hour_and_weekday",
    "chat_figures",
    "chat_report",
]
