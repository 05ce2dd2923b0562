"""Reports for supervisors: the center's measures of the chat channel, computed in SQL."""

from chatsvc.reports.after_hours import AfterHoursReport, after_hours_report
from chatsvc.reports.chats import (
    AgentReport,
    ChatFigures,
    ChatReport,
    HourlyReport,
    by_agent,
    by_hour_and_weekday,
    chat_figures,
    chat_report,
    offered_by_day,
)
from chatsvc.reports.period import MAX_DAYS, Period
from chatsvc.reports.requests import RequestsReport, requests_report

__all__ = [
    "MAX_DAYS",
    "AfterHoursReport",
    "AgentReport",
    "ChatFigures",
    "ChatReport",
    "HourlyReport",
    "Period",
    "RequestsReport",
    "after_hours_report",
    "by_agent",
    "by_hour_and_weekday",
    "chat_figures",
    "chat_report",
    "offered_by_day",
    "requests_report",
]
