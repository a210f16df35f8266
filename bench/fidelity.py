"""Fidelity of every zoo model on the digits test split (360 images): the
float model's accuracy (onnxruntime), how often the circuit keeps its class,
the largest output error, and the compile report's certified and measured
errors. Run: `.venv/bin/python bench/fidelity.py`."""
import importlib.util, json, numpy as np, onnxruntime as ort, sys, os, tempfile
from pathlib import Path
import zkml
from zkml import program as P, reference
from zkml.api import load_build
REPO=Path(__file__).resolve().parents[1]
ZOO=["digits_mlp","digits_cnn","resnet_block","sklearn_mlp","tiny_transformer","lenet5"]
PRED={"sklearn_mlp":"probabilities"}
spec=importlib.util.spec_from_file_location("g", REPO/"circuits/digits_mlp/gen.py"); g=importlib.util.module_from_spec(spec); spec.loader.exec_module(g)
_,xte,_,yte=g.load_split()
print("| model | float test accuracy | circuit keeps the float class | max abs error on the test split (main output) | certified bound (calibration box) | measured on calibration (compile report) | tensors with uncertified range |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in ZOO:
    d=tempfile.mkdtemp(); b=Path(d)/"b"
    zkml.compile(REPO/f"circuits/{m}/model.onnx", b, calibration=REPO/f"circuits/{m}/calibration.json")
    p=load_build(b).program; s=json.loads((b/"settings.json").read_text())
    shape=p.tensors[p.inputs[0].tensor].shape
    if m=="lenet5":
        sp=importlib.util.spec_from_file_location("l5", REPO/"circuits/lenet5/gen.py"); l5=importlib.util.module_from_spec(sp); sp.loader.exec_module(l5)
        ims=l5.upsample(xte).reshape((-1,)+shape)
    else:
        ims=xte.reshape((-1,)+shape)
    sess=ort.InferenceSession(str(REPO/f"circuits/{m}/model.onnx"),providers=["CPUExecutionProvider"])
    nm=sess.get_inputs()[0].name; outs=[o.name for o in sess.get_outputs()]
    fl=[sess.run(None,{nm:i.astype(np.float32)}) for i in ims]
    key=PRED.get(m,"logits")
    theirs=np.concatenate([r[outs.index(key)] for r in fl]).reshape(len(ims),-1)
    q=P.quantize_inputs(p,[ims]); res=reference.evaluate(p,q)
    ours={e.name:P.dequantize(p,e.tensor,v) for e,v in zip(p.outputs,res)}
    mine=ours[key].reshape(len(ims),-1)
    acc=(theirs.argmax(1)==yte).mean(); agree=(theirs.argmax(1)==mine.argmax(1)).mean()
    err=np.abs(mine-theirs).max()
    q_=s["quantization"]; bound=q_["outputs"][key]["error_bound"]; meas=q_["measured_error_vs_onnxruntime"]["max_abs_error"][key]
    unc=sum(1 for t in q_["tensors"] if not t["range_certified"])
    print(f"| {m} | {acc:.4f} | {agree*100:.2f}% ({int(agree*len(ims))}/{len(ims)}) | {err:.2e} | {('%.3g'%bound) if bound is not None else 'none'} | {meas:.2e} | {unc} of {len(q_['tensors'])} |")
