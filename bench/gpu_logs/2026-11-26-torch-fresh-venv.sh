#!/bin/bash
# A fresh virtualenv (torch/onnx/numpy of the machine's torch environment via a .pth line), zkml's wheel pip-installed into it, then a torch.nn.Module
# compiled, set up, proved and verified from Python, outside the checkout.
set -e
R=$(pwd); PY=/opt/torch/.venv/bin/python
rm -rf /tmp/fresh; $PY -m venv /tmp/fresh
# torch, onnx and numpy from the machine's torch environment, through a .pth
# line (no network here); zkml itself only from the wheel.
$PY -c "import site; print(site.getsitepackages()[0])" > $(/tmp/fresh/bin/python -c "import site; print(site.getsitepackages()[0])")/machine.pth
/tmp/fresh/bin/pip install -q --no-index --no-deps $R/.gpu/deps/*.whl $R/.gpu/zkml-*.whl
cd /tmp && /tmp/fresh/bin/python - <<'PY'
import numpy as np, torch, zkml, tempfile, os
print("zkml from", os.path.dirname(zkml.__file__), "torch", torch.__version__)
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
x = torch.rand(1, 1, 8, 8)
d = tempfile.mkdtemp()
c = zkml.compile(m, d + "/build", example_inputs=(x,), calibration=torch.rand(16, 1, 8, 8))
zkml.setup(d + "/build", dev=True)
r = zkml.prove(d + "/build", x, d + "/out", device="cpu")
want = m(x).detach().numpy()
got = list(r.outputs.values())[0]
print("outputs max abs diff vs torch:", float(np.abs(got - want).max()))
print("verify:", zkml.verify(d + "/build", d + "/out"))
PY
