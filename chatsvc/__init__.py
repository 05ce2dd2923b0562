"""chatsvc: live chat and assistant for a city's Citizen Service Center."""

__version__ = "0.1.0"
