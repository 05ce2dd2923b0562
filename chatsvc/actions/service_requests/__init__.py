"""Service requests: work orders for a department, from a chat, the agent pane or Open311.

Every function takes an open AsyncSession (the caller commits) and plain values. Mail to the
resident and events for a department's webhook are queued in the same transaction as the change
they tell about, so a request and its notices commit together or not at all.

Import from the modules, by feature:

- `views`: RequestView and its parts (Contact, HistoryEntry), RequestPolicy;
- `checks`: what a request's input must be (InvalidRequest, request_topic, check_values);
- `filing`: filing a request (NewRequest, create_service_request);
- `from_chat`: filing one from a conversation, and what its form starts from;
- `status`: changing a request's status, referrals;
- `queries`: one request by number, lists, a resident's status lookup;
- `photos`: photos uploaded in a chat, attached when a request is filed;
- `numbering`: request numbers (26-000123);
- `notices`: the mails to residents and the departments' webhook events.
"""
