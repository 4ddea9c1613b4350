"""What every layer of app/ shares: settings, the one parameter model, the domain errors and
the code patterns. Imports nothing else of app/."""
