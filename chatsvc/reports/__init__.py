"""Reports for supervisors: the center's measures of the chat channel, computed in SQL."""

from chatsvc.reports.after_hours import AfterHoursReport, after_hours_report
from chatsvc.reports.assistant import AssistantReport, assistant_report, grouped
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
from chatsvc.reports.requests import RequestsReport, requests_report

__all__ = [
    "MAX_DAYS",
    "AfterHoursReport",
    "AgentReport",
    "AssistantReport",
    "ChatFigures",
    "ChatReport",
    "HourlyReport",
    "Period",
    "RequestsReport",
    "after_hours_report",
    "assistant_report",
    "by_agent",
    "by_hour_and_weekday",
    "chat_figures",
    "chat_report",
    "grouped",
    "requests_report",
]
