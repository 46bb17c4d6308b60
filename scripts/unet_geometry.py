#!/usr/bin/env python3
"""The diffusion geometry of a Stable Diffusion U-Net, counted from its published config.

A U-Net has no single depth and width: its convolutions and transformer blocks run at
several resolutions. The diffusion physics reads three numbers per model (registry
`shape`, families.json): the multiply-accumulates of its convolutions and linear layers
per latent position of the full-resolution latent (as `token_params_b`, billions: FLOPs
= 2 x that x positions), the self-attention's sum of width x depth weighted by each
level's share of the positions squared (`attention_layers_x_width`), and the share of
those convolution and linear MACs in convolutions (`conv_share`: PyTorch runs those in
TF32 and matrix multiplies in FP32 by default, docs/regimes.md "naive"). All three are per
position, whatever the resolution. This prints them.

Usage: scripts/unet_geometry.py

Configs (diffusers `unet/config.json`): block_out_channels, layers_per_block, which down
blocks carry transformers and how deep (transformer_layers_per_block), the mid block's
depth. Cross-attention keys and values are projected once per text token (not per
position) and left out; so are norms, activations and the timestep embedding.
Cross-check: SD 1.x counts 338.7 GMACs of convolutions and linear layers at 512x512 here
and in Kim et al. 2023 (BK-SDM, arXiv 2305.15798, Table: U-Net MACs 338.7G).
"""

from __future__ import annotations

from typing import NamedTuple


class UNet(NamedTuple):
    """The fields of a diffusers UNet2DConditionModel config that set its compute."""

    name: str
    channels: tuple[int, ...]  # block_out_channels
    depth: tuple[int, ...]     # transformer layers per attention block at each level (0: none)
    mid_depth: int
    layers: int = 2            # resnets per down block (layers + 1 per up block)
    resolution: int = 512      # default image side, for the printed total


#: Rombach et al. 2022 (SD 1.x/2.x: the same topology) and Podell et al. 2023 (SDXL).
UNETS = (
    UNet("sd (SD 1.x, SD 2.x)", (320, 640, 1280, 1280), (1, 1, 1, 0), 1),
    UNet("sdxl", (320, 640, 1280), (0, 2, 10), 10, resolution=1024),
)


def _resnet(cin: int, cout: int) -> float:
    """MACs per position of a ResNet block: two 3x3 convolutions, a 1x1 shortcut if needed."""
    return 9.0 * cin * cout + 9.0 * cout * cout + (cin * cout if cin != cout else 0.0)


def _transformer(c: int, depth: int) -> float:
    """MACs per position of a Transformer2DModel: projections in and out, and per layer
    self-attention q/k/v/o, cross-attention q/o and a GEGLU feed-forward (c -> 2x4c -> c)."""
    return 2.0 * c * c + depth * (4.0 + 2.0 + 12.0) * c * c


def count(u: UNet) -> dict[str, float]:
    """Per latent position of the full-resolution latent: conv and linear MACs; and the
    self-attention's width x depth, each level weighted by its (positions / full)^2."""
    conv = lin = lxw = 0.0
    scale = [1.0 / 4 ** i for i in range(len(u.channels))]  # positions per full position
    conv += 9.0 * 4 * u.channels[0]  # conv_in from 4 latent channels
    skips, cin = [u.channels[0]], u.channels[0]
    for i, c in enumerate(u.channels):  # down
        for _ in range(u.layers):
            conv += _resnet(cin, c) * scale[i]
            cin = c
            if u.depth[i]:
                lin += _transformer(c, u.depth[i]) * scale[i]
                lxw += u.depth[i] * c * scale[i] ** 2
            skips.append(c)
        if i < len(u.channels) - 1:  # stride-2 3x3 convolution, output at the next level
            conv += 9.0 * c * c * scale[i + 1]
            skips.append(c)
    last = len(u.channels) - 1
    conv += 2 * _resnet(cin, cin) * scale[last]  # mid block
    lin += _transformer(cin, u.mid_depth) * scale[last]
    lxw += u.mid_depth * cin * scale[last] ** 2
    for i in reversed(range(len(u.channels))):  # up: one more resnet, skips concatenated
        c = u.channels[i]
        for _ in range(u.layers + 1):
            conv += _resnet(cin + skips.pop(), c) * scale[i]
            cin = c
            if u.depth[i]:
                lin += _transformer(c, u.depth[i]) * scale[i]
                lxw += u.depth[i] * c * scale[i] ** 2
        if i > 0:  # nearest x2, then a 3x3 convolution at the finer level
            conv += 9.0 * c * c * scale[i - 1]
    conv += 9.0 * u.channels[0] * 4  # conv_out
    n = (u.resolution // 8) ** 2
    attn = 2.0 * lxw * n  # QK^T and AV, MACs per position at the default resolution
    return {"token_params_b": (conv + lin) / 1e9, "attention_layers_x_width": lxw,
            "conv_share": conv / (conv + lin), "gmacs": (conv + lin + attn) * n / 1e9}


def main() -> None:
    for u in UNETS:
        r = count(u)
        print(f"{u.name}: token_params_b {r['token_params_b']:.4f}, attention_layers_x_width "
              f"{r['attention_layers_x_width']:.0f}, conv_share {r['conv_share']:.2f} "
              f"({r['gmacs']:.0f} GMACs per pass at {u.resolution}x{u.resolution})")


if __name__ == "__main__":
    main()
