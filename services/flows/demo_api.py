"""A tiny outside API for trying the `quote` example flow by hand (README walk-through).

    .venv/bin/python -m services.flows.demo_api        # listens on 127.0.0.1:8099

Round 1 asks one more question (how many rooms) with a message; round 2 answers with a
price as the final message. It checks the bearer secret when QUOTE_API_SECRET is set.
Not used by the service itself; the tests have their own programmable stand-in.
"""

from __future__ import annotations

import os
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Request

app = FastAPI(title="hilo demo outside API")
PRICES = {"Cleaning": 30, "Repairs": 55, "Moving": 80, "Gardening": 40}


@app.post("/quote")
async def quote(request: Request) -> dict[str, Any]:
    secret = os.environ.get("QUOTE_API_SECRET")
    if secret and request.headers.get("authorization") != f"Bearer {secret}":
        raise HTTPException(401, "wrong secret")
    body = await request.json()
    answers = body.get("answers", {})
    spanish = body.get("language") == "es"
    if body.get("round") == 1:
        return {
            "message": "¡Ya casi está!" if spanish else "Almost done!",
            "additional_questions": [
                {
                    "id": "rooms",
                    "text": {"en": "How many rooms?", "es": "¿Cuántas habitaciones?"},
                    "type": "number",
                    "hint": {"en": "A number, e.g. 3", "es": "Un número, por ejemplo 3"},
                }
            ],
        }
    price = PRICES.get(str(answers.get("service")), 50) * max(1, int(answers.get("rooms") or 1))
    if spanish:
        return {"final_message": f"{answers.get('name')}, tu presupuesto: {price} €. ¡Gracias!"}
    return {"final_message": f"{answers.get('name')}, your quote: {price} €. Thank you!"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("DEMO_API_PORT", "8099")))
