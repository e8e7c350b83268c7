"""GraspSAM's own language path: a word tokenizer and a small text encoder whose
output enters the mask decoder as sparse prompt tokens, beside points and boxes.

No pretrained language model can be downloaded here (no CLIP / OWL-ViT
weights), so the path is learned from the simulator's phrases
(:mod:`graspsim.phrases`) together with the grasp heads.

Tokenizer: lower-cased words (letters, digits, inner hyphens: "t-bar"); the
vocabulary is every word of the *training* phrasing of :mod:`graspsim.phrases`
(category synonyms, templates, colour, size, position and relation words),
after ``<pad>`` (id 0) and ``<unk>`` (id 1). Words outside it -- held-out
synonyms and templates among them -- become ``<unk>``: the model cannot know
what a word it never saw means, which the held-out test measures. A phrase
keeps its first :data:`MAX_WORDS` words. The vocabulary a model was built with
is stored in its checkpoint, so later changes to the phrase lists do not
change an old model's tokens.

Encoder: word embeddings plus learned positions, a :data:`LAYERS`-layer
Transformer encoder (padding masked), and :data:`TEXT_TOKENS` learned queries
that attend over the words (padding masked) and become the prompt tokens
(``B × TEXT_TOKENS × prompt_dim``).

Grounding map (``grounding=True``): the encoder also holds a
:class:`.grounding_head.GroundingHead`, which matches the phrase (the mean of
its prompt tokens) against the image's embedding cells and gives one logit per
cell (``B × h × w``, SAM's embedding grid): where the named object is. The
prompt tokens alone left the decoder segmenting every object whatever the
phrase, so a model with a grounding map reads a phrase through it (its arg-max
becomes a point prompt, :func:`.inference.predict`).
"""

from __future__ import annotations

import torch
from torch import nn

from graspsim.phrases import words

from .grounding_head import GroundingHead

#: words a phrase keeps; prompt tokens the encoder emits; Transformer layers and heads
MAX_WORDS = 16
TEXT_TOKENS = 4
LAYERS = 2
HEADS = 4
PAD, UNK = "<pad>", "<unk>"


def training_vocabulary() -> tuple[str, ...]:
    """``<pad>``, ``<unk>``, then every word of the training phrasing, sorted."""
    from graspsim import phrases

    seen: set[str] = set()
    for train, _ in phrases.CATEGORY_WORDS.values():
        for w in train:
            seen.update(words(w))
    for template in phrases.TEMPLATES["train"]:
        seen.update(words(template.replace("{}", " ")))
    seen.update(phrases.COLOUR_WORDS)
    seen.update(phrases.QUALIFIER_WORDS)
    return (PAD, UNK) + tuple(sorted(seen))


def tokenize(texts, vocabulary) -> torch.Tensor:
    """``B × MAX_WORDS`` int64 token ids of ``texts`` (a list of phrases), 0-padded."""
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"texts must be a list of phrases, got {texts!r}")
    index = {w: i for i, w in enumerate(vocabulary)}
    out = torch.zeros(len(texts), MAX_WORDS, dtype=torch.long)
    for b, text in enumerate(texts):
        ids = [index.get(w, 1) for w in words(text)][:MAX_WORDS]
        if not ids:
            raise ValueError(f"text prompt {text!r} has no words")
        out[b, : len(ids)] = torch.tensor(ids)
    return out


class TextEncoder(nn.Module):
    """Token ids ``B × L`` -> prompt tokens ``B × TEXT_TOKENS × dim`` (module docstring).

    ``grounding``: also hold the grounding head, whose cells carry ``cell_channels``
    channels of the model input (3: RGB; 4: RGB and heights, for a model that uses depth).
    """

    def __init__(self, vocabulary, dim: int, layers: int = LAYERS, heads: int = HEADS, tokens: int = TEXT_TOKENS,
                 grounding: bool = False, cell_channels: int = 3):
        super().__init__()
        self.vocabulary = tuple(vocabulary)
        if self.vocabulary[:2] != (PAD, UNK):
            raise ValueError(f"a text vocabulary starts with {PAD!r}, {UNK!r}; got {self.vocabulary[:2]!r}")
        self.embed = nn.Embedding(len(self.vocabulary), dim, padding_idx=0)
        self.position = nn.Parameter(torch.zeros(MAX_WORDS, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.queries = nn.Parameter(torch.randn(tokens, dim) * 0.02)
        self.pool = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.out = nn.Linear(dim, dim)
        nn.init.normal_(self.position, std=0.02)
        self.grounding = False
        if grounding:
            self.add_grounding(cell_channels)

    def add_grounding(self, cell_channels: int) -> None:
        """Give this encoder a new (untrained) grounding head (``graspsim train grounding``
        does so for a checkpoint trained with text tokens only)."""
        if self.grounding:
            raise ValueError("this text encoder already has a grounding map")
        dim = self.queries.shape[1]
        self.head = GroundingHead(dim, cell_channels).to(self.queries.device)
        self.ground_words = nn.Embedding(len(self.vocabulary), dim, padding_idx=0).to(self.queries.device)
        self.grounding = True

    def phrase_vectors(self, token_ids: torch.Tensor) -> torch.Tensor:
        """``B × C``: what the grounding head reads of a phrase -- the mean of its prompt
        tokens plus the mean of its words' own grounding vectors (a bag of words, which
        learns colour and category words far faster than the Transformer alone: after 6
        epochs on 10,365 objects the tokens alone picked 0.38 of validation targets)."""
        if not self.grounding:
            raise ValueError("this text encoder has no grounding map (built with grounding=False)")
        present = (token_ids > 0).unsqueeze(-1).to(self.queries.dtype)
        bag = (self.ground_words(token_ids) * present).sum(1) / present.sum(1).clamp_min(1)
        return self(token_ids).mean(dim=1) + bag

    def grounding_logits(self, token_ids: torch.Tensor, image_embedding: torch.Tensor, cells: torch.Tensor,
                         image_pe: torch.Tensor) -> torch.Tensor:
        """``B × h × w`` logits that each embedding cell shows the phrase's object.

        token_ids ``B × L`` (:func:`tokenize`); image_embedding ``B × C × h × w`` and cells
        ``B × L' × h × w`` (or batch 1, broadcast); image_pe ``1 × C × h × w``.
        """
        return self.head(self.phrase_vectors(token_ids), image_embedding, cells, image_pe)

    def ground_texts(self, texts, image_embedding: torch.Tensor, cells: torch.Tensor,
                     image_pe: torch.Tensor) -> torch.Tensor:
        """:meth:`grounding_logits` of a list of phrases."""
        ids = tokenize(texts, self.vocabulary).to(self.queries.device)
        return self.grounding_logits(ids, image_embedding, cells, image_pe)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        pad = token_ids == 0
        x = self.embed(token_ids) + self.position[: token_ids.shape[1]]
        x = self.encoder(x, src_key_padding_mask=pad)
        q = self.queries.unsqueeze(0).expand(token_ids.shape[0], -1, -1)
        pooled, _ = self.pool(q, x, x, key_padding_mask=pad, need_weights=False)
        return self.out(pooled)

    def encode_texts(self, texts, device=None) -> torch.Tensor:
        """Prompt tokens of a list of phrases."""
        ids = tokenize(texts, self.vocabulary).to(device or self.queries.device)
        return self(ids)


__all__ = ["MAX_WORDS", "TEXT_TOKENS", "TextEncoder", "tokenize", "training_vocabulary", "words"]
