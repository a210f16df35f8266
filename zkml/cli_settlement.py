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


def _write_salts(path: Path, doc: dict) -> None:
    """``doc`` as ``path``, atomically and readable by its owner only."""
    from zkml.artifacts import Staging

    with Staging(path.parent) as stage:
        stage.write_json(path.name, doc, private=True)


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
@click.option("--salts-out", "salts_out", type=click.Path(path_type=Path), metavar="FILE",
              help="Required when BUILD's input is hashed (--visibility input=hashed): where to write the "
              "salts the request's commitment is made with (owner-only), for the prover's `zkml prove --salts`.")
@_KEYSTORE
@_JSON
@handle_errors
def request_cmd(build: Path, input_json: Path, rpc_url: str, settlement: str, verifier: str, payment_wei: int,
                deadline_in: int, salts_out: Path | None, keystore: Path | None, as_json: bool) -> None:
    """Ask for one inference of BUILD's model on INPUT.json, paying --payment wei; print the request id.

    The request holds keccak256 of the input's public signals, not the input:
    share INPUT.json with provers. BUILD must be compiled with --bind-sender.
    When BUILD's input is hashed (compiled with --visibility input=hashed),
    that signal is a salted Poseidon commitment, so neither the input nor its
    packing goes on-chain; the salts are drawn here and written to
    --salts-out FILE, which the prover needs with INPUT.json
    (`zkml prove BUILD INPUT.json -o OUT --sender ADDR --salts FILE`).

    \b
    Example:
      zkml request build input.json --rpc-url URL --settlement 0x... --verifier 0x... \\
          --payment 1000000000000000 --deadline-in 3600
      zkml request hashed_build input.json --salts-out salts.json --rpc-url URL ...
    """
    from zkml import onchain
    from zkml import program as prog
    from zkml.api import load_build
    from zkml.errors import ArgumentError
    from zkml.sender import input_salts, model_inputs

    loaded = load_build(build)
    hashed = [e.name for e in prog.hashed(model_inputs(loaded.program))]
    salts = None
    doc: dict = {}
    if hashed:
        if salts_out is None:
            raise ArgumentError(f"{build}'s input {', '.join(hashed)} is hashed: give --salts-out FILE for the salts "
                                "its commitment is made with (the prover needs them: zkml prove --salts FILE)")
        if salts_out.is_dir():
            raise ArgumentError(f"--salts-out {salts_out} is a directory; name a file")
        salts = input_salts(loaded.program)
        doc = {"note": "give this file, with the input, to the prover only (zkml prove --salts FILE): whoever holds "
                       "a salt can test guesses of the input against the request's commitment",
               "salts": {k: str(v) for k, v in salts.items()}, "request": None, "circuit_hash": loaded.circuit_hash,
               "settlement": settlement, "verifier": verifier}
        _write_salts(salts_out, doc)  # before posting: a request whose salts are lost cannot be fulfilled
    elif salts_out is not None:
        raise ArgumentError(f"{build} has no hashed input: --salts-out would hold nothing (the request commits to "
                            "the input's public signals)")
    # If posting fails the file stays, with "request": null: a transaction that was sent
    # but not seen to succeed may still have been mined, and its salts must not be lost.
    posted = onchain.post_request(build, input_json, rpc_url, _account(keystore), settlement, verifier,
                                  payment_wei, deadline_in, salts=salts)
    commitment = "0x" + posted.input_commitment.hex()
    if salts_out is not None:
        _write_salts(salts_out, {**doc, "request": posted.id, "deadline": posted.deadline,
                                 "input_commitment": commitment, "tx_hash": _hex(posted.tx_hash)})
    if as_json:
        result = {"id": posted.id, "deadline": posted.deadline, "input_commitment": commitment,
                  "payment": payment_wei, "tx_hash": _hex(posted.tx_hash), "gas_used": posted.gas_used}
        if salts_out is not None:
            result["salts_file"] = str(salts_out)
        _echo_json(result)
        return
    click.echo(posted.id)
    click.echo(f"  request {posted.id}: {payment_wei:,} wei until unix time {posted.deadline}, input commitment "
               f"{commitment} (transaction {_hex(posted.tx_hash)}, {posted.gas_used:,} gas)", err=True)
    if salts_out is not None:
        click.echo(f"  wrote {salts_out}: the salts of the hashed input, for the prover alone "
                   f"(zkml prove {build} {input_json} -o OUT --sender ADDR --salts {salts_out})", err=True)


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
