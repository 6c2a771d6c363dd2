"""A self-hostable voice agent that answers a car dealership's phone line."""
