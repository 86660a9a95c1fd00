"""hwcomp: compile trained neural networks into bit-exact streaming FPGA designs.

    from hwcomp import compile_model, simulate_build
    compile_model("model.onnx", "build/", calib="calib.npz")
    simulate_build("build/", "test.npz")
"""
from hwcomp.errors import HwcompError

__version__ = "0.1.0"
__all__ = ["HwcompError", "compile_model", "simulate_build", "load_onnx", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import hwcomp` stays cheap and the CLI starts fast.
    if name == "compile_model":
        from hwcomp.compile import compile_model
        return compile_model
    if name == "simulate_build":
        from hwcomp.simulate import simulate_build
        return simulate_build
    if name == "load_onnx":
        from hwcomp.frontend.onnx import load_onnx
        return load_onnx
    raise AttributeError(name)
