"""The settlement commands of the `zkml` CLI (contracts/ZkmlSettlement.sol):
deploy-settlement, request, fulfil, reclaim. Registered on `zkml.cli.main`;
thin over `zkml.onchain`, like the rest of the CLI."""

from __future__ import annotations

import functools
from pathlib import Path

import click


def handle_errors(fn):
    """zkml.cli's handle_errors, looked up when the command runs: zkml.cli
    imports this module, so it cannot be imported from here at import time."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from zkml.cli import handle_errors as handled

        return handled(fn)(*args, **kwargs)

    return wrapper


def _echo_json(doc) -> None:
    from zkml.cli import _echo_json as echo

    echo(doc)

_RPC = click.option("--rpc-url", required=True, metavar="URL", help="JSON-RPC endpoint of the chain.")
_KEYSTORE = click.option("--keystore", type=click.Path(path_type=Path),
                         help="Encrypted JSON keystore of the sender; the password is asked for. "
                         "Without it the key comes from $ZKML_PRIVATE_KEY.")
_SETTLEMENT = click.option("--settlement", required=True, metavar="ADDR",
                           help="Address of the settlement contract (zkml deploy-settlement).")
_REQUEST = click.option("--request", "request_id", required=True, type=click.IntRange(min=1), metavar="ID",
                        help="The request's id (printed by zkml request).")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")


def _account(keystore: Path | None):
    from zkml import onchain

    password = (lambda: click.prompt(f"password for {keystore}", hide_input=True, err=True)) if keystore else None
    return onchain.load_account(keystore, password)


def _hex(tx_hash: str) -> str:
    return "0x" + tx_hash.removeprefix("0x")


@click.command("deploy-settlement")
@_RPC
@_KEYSTORE
@_JSON
@handle_errors
def deploy_settlement_cmd(rpc_url: str, keystore: Path | None, as_json: bool) -> None:
    """Deploy the settlement contract (one serves every model); print its address.

    Requesters escrow a payment for one inference of a model (named by its
    verifier's address) on a committed input; a prover who fulfils it before
    the deadline with a proof bound to their own address is paid. Models must
    be compiled with --bind-sender. Key as for `zkml deploy`.

    \b
    Example:
      ZKML_PRIVATE_KEY=0x... zkml deploy-settlement --rpc-url http://127.0.0.1:8545
    """
    from zkml import onchain

    deployed = onchain.deploy_settlement(rpc_url, _account(keystore))
    if as_json:
        _echo_json({"address": deployed.address, "chain_id": deployed.chain_id, "deployer": deployed.deployer,
                    "tx_hash": _hex(deployed.tx_hash), "gas_used": deployed.gas_used})
        return
    click.echo(deployed.address)
    click.echo(f"  ZkmlSettlement deployed on chain {deployed.chain_id} by {deployed.deployer} in transaction "
               f"{_hex(deployed.tx_hash)} ({deployed.gas_used:,} gas)", err=True)


@click.command("request")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("input_json", metavar="INPUT.json", type=click.Path(path_type=Path))
@_RPC
@_SETTLEMENT
@click.option("--verifier", required=True, metavar="ADDR", help="Address of BUILD's deployed verifier (zkml deploy).")
@click.option("--payment", "payment_wei", required=True, type=click.IntRange(min=0), metavar="WEI",
              help="What the prover is paid, in wei, held by the contract until then.")
@click.option("--deadline-in", "deadline_in", default=3600, show_default=True, type=click.IntRange(min=1),
              metavar="SECONDS", help="Seconds after the latest block until which the request can be fulfilled.")
@_KEYSTORE
@_JSON
@handle_errors
def request_cmd(build: Path, input_json: Path, rpc_url: str, settlement: str, verifier: str, payment_wei: int,
                deadline_in: int, keystore: Path | None, as_json: bool) -> None:
    """Ask for one inference of BUILD's model on INPUT.json, paying --payment wei; print the request id.

    The request holds keccak256 of the input's public signals, not the input:
    share INPUT.json with provers. BUILD must be compiled with --bind-sender.

    \b
    Example:
      zkml request build input.json --rpc-url URL --settlement 0x... --verifier 0x... \\
          --payment 1000000000000000 --deadline-in 3600
    """
    from zkml import onchain

    posted = onchain.post_request(build, input_json, rpc_url, _account(keystore), settlement, verifier,
                                  payment_wei, deadline_in)
    if as_json:
        _echo_json({"id": posted.id, "deadline": posted.deadline, "input_commitment": "0x" + posted.input_commitment.hex(),
                    "payment": payment_wei, "tx_hash": _hex(posted.tx_hash), "gas_used": posted.gas_used})
        return
    click.echo(posted.id)
    click.echo(f"  request {posted.id}: {payment_wei:,} wei until unix time {posted.deadline}, input commitment "
               f"0x{posted.input_commitment.hex()} (transaction {_hex(posted.tx_hash)}, {posted.gas_used:,} gas)",
               err=True)


@click.command("fulfil")
@click.argument("build", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@_RPC
@_SETTLEMENT
@_REQUEST
@_KEYSTORE
@_JSON
@handle_errors
def fulfil_cmd(build: Path, out: Path, rpc_url: str, settlement: str, request_id: int, keystore: Path | None,
               as_json: bool) -> None:
    """Fulfil a request with OUT's proof and be paid.

    OUT must be proved for the sending account's address
    (`zkml prove BUILD INPUT.json -o OUT --sender ADDR`). A refusal names the
    contract's error: InvalidProof, InputMismatch, WrongSender, AlreadyFulfilled,
    DeadlinePassed, ...

    \b
    Example:
      zkml fulfil build out --rpc-url URL --settlement 0x... --request 1
    """
    from zkml import onchain

    done = onchain.fulfil(build, out, rpc_url, _account(keystore), settlement, request_id)
    if as_json:
        _echo_json({"id": done.id, "prover": done.prover, "payment": done.payment,
                    "output_signals": [str(v) for v in done.output_signals], "tx_hash": _hex(done.tx_hash),
                    "gas_used": done.gas_used})
        return
    click.echo(f"fulfilled request {done.id}: paid {done.payment:,} wei to {done.prover} "
               f"({done.gas_used:,} gas, transaction {_hex(done.tx_hash)})")


@click.command("reclaim")
@_RPC
@_SETTLEMENT
@_REQUEST
@_KEYSTORE
@_JSON
@handle_errors
def reclaim_cmd(rpc_url: str, settlement: str, request_id: int, keystore: Path | None, as_json: bool) -> None:
    """Take back the payment of your request once its deadline has passed unfulfilled.

    \b
    Example:
      zkml reclaim --rpc-url URL --settlement 0x... --request 1
    """
    from zkml import onchain

    done = onchain.reclaim(rpc_url, _account(keystore), settlement, request_id)
    if as_json:
        _echo_json({"id": done.id, "payment": done.payment, "tx_hash": _hex(done.tx_hash), "gas_used": done.gas_used})
        return
    click.echo(f"reclaimed request {done.id}: {done.payment:,} wei back ({done.gas_used:,} gas, "
               f"transaction {_hex(done.tx_hash)})")


COMMANDS = (deploy_settlement_cmd, request_cmd, fulfil_cmd, reclaim_cmd)
