"""The few paths every layer must agree on: where the JSON API and its OpenAPI document live.

The app mounts them (backend/app.py); the login middleware, the workspace guard and the error
pages ask whether a request is an API call, and must not each keep a copy."""

API_PREFIX = "/api/"
API_DOCS = "/api/v1/schema"
