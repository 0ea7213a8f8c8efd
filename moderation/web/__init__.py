"""The web layer: the Flask app factory, request logs and the API blueprints."""
