"""The segment portal: a small web app where campaign managers find and download audiences."""
