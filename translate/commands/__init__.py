"""One module per CLI command group; `translate.cli` wires them into the Typer app.

Each module imports TensorFlow only inside its command bodies, so `translate --help` stays instant.
"""
