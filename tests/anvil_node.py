"""A real JSON-RPC node for tests: anvil from the pinned npm package
``@foundry-rs/anvil`` in contracts/node_modules, on 127.0.0.1 at a free port,
stopped when the test module is done. Accounts are made fresh and funded
with anvil_setBalance, so no test relies on anvil's well-known dev keys."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator

from web3 import Web3

from zkml.evm import contracts_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_anvil() -> Iterator[tuple[str, Web3]]:
    """``(rpc_url, web3)`` of a fresh anvil; the process ends with the block."""
    anvil = contracts_dir() / "node_modules" / ".bin" / "anvil"
    assert anvil.exists(), "run `npm ci` in contracts/ (make test does)"
    port = _free_port()
    proc = subprocess.Popen([str(anvil), "--host", "127.0.0.1", "--port", str(port), "--silent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        web3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
        deadline = time.monotonic() + 30
        while not web3.is_connected():
            assert proc.poll() is None, "anvil exited"
            assert time.monotonic() < deadline, "anvil did not answer within 30 s"
            time.sleep(0.2)
        yield url, web3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def funded_account(web3: Web3, ether: int = 100):
    """A new random account holding ``ether`` ETH on this anvil."""
    from eth_account import Account

    account = Account.create()
    web3.provider.make_request("anvil_setBalance", [account.address, hex(ether * 10**18)])
    assert web3.eth.get_balance(account.address) == ether * 10**18
    return account
