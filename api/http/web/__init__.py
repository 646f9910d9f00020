"""The console (一张图): pages served by the API's own app, after login, offline."""

from api.http.web.pages import install_static, router

__all__ = ["install_static", "router"]
