"""HTTP routes: parse the request, call one service function, return a schema."""
