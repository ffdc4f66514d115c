"""Serving a trained weak judge over HTTP (FastAPI + uvicorn), with a small client."""
