import json, sys
from zkml.evm.verifier import render_verifier, compile_verifier
from zkml.evm.calldata import proof_calldata
import zkml.evm.chain as ch
D, dev = sys.argv[1], sys.argv[2]
vk = json.load(open(f"{D}/verification_key.json")); proof = json.load(open(f"{D}/proof_{dev}.json")); pub = json.load(open(f"{D}/public_{dev}.json"))
c = compile_verifier(render_verifier(vk))
evm = [getattr(ch, n) for n in dir(ch) if n[0].isupper() and hasattr(getattr(ch, n), "deploy")][0]()
addr = evm.deploy(c.bytecode)
p8, inputs = proof_calldata(proof, pub)
ok, gas = evm.verify(addr, p8, inputs)
bad = list(inputs); bad[-1] = bad[-1] + 1
nok, _ = evm.verify(addr, p8, bad)
print(f"evm {ok} ({gas} gas), changed signal {nok}")
