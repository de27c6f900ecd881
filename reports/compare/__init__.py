"""Two runs side by side (``fleetchaos compare``): per SLO and per phase, BASE vs NEW,
and whether NEW is worse beyond a tolerance; terminal, Markdown and HTML."""
