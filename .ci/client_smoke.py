"""Calls the demo server through the client generated from the OpenAPI document.

Run by .ci/schemathesis.sh after `openapi-python-client generate`: if an SDK user's first
steps (sign in, read the wallet, find practitioners) break, the document is wrong.
Usage: python client_smoke.py BASE_URL
"""

import sys

from augur_api_client import AuthenticatedClient, Client
from augur_api_client.api.auth import login
from augur_api_client.api.practitioners import find_practitioners
from augur_api_client.api.wallet import my_wallet
from augur_api_client.models import AuthResponse, LoginRequest, Problem, WalletView


def main(base: str) -> None:
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)

    signed_in = login.sync(
        client=anonymous,
        body=LoginRequest(email="asha@demo.augur.dev", password="augur-demo-password"),
    )
    assert isinstance(signed_in, AuthResponse), signed_in
    assert signed_in.user.email == "asha@demo.augur.dev"

    # A refusal comes back as the documented Problem, with its stable code.
    refused = login.sync(
        client=anonymous,
        body=LoginRequest(email="asha@demo.augur.dev", password="not the password"),
    )
    assert isinstance(refused, Problem), refused
    assert refused.status == 401 and refused.code == "invalid_credentials", refused

    client = AuthenticatedClient(
        base_url=base,
        token=signed_in.tokens.access_token,
        raise_on_unexpected_status=True,
    )
    wallet = my_wallet.sync(client=client)
    assert isinstance(wallet, WalletView), wallet
    # The demo clients start with a welcome credit.
    assert wallet.available > 0, wallet

    page = find_practitioners.sync(client=anonymous, limit=5)
    assert page is not None and not isinstance(page, Problem), page
    assert 0 < len(page.items) <= 5, page
    print(
        f"generated client: signed in, wallet {wallet.available} {wallet.currency}, "
        f"{len(page.items)} practitioners listed"
    )


if __name__ == "__main__":
    main(sys.argv[1])
