"""A tiny hand-written French dataset in the exercise-1 format, for fast tests.

Splits `train`, `validation`, `test`; columns `text` (one sentence) and
`book` (an int id), exactly as `datasets.load_from_disk(paths.dataset_dir())`
returns them.
"""

from __future__ import annotations

from pathlib import Path

TRAIN = [
    "Le soleil se levait sur la vallée, et la rosée brillait encore dans les prés.",
    "Marie marchait lentement vers la ferme, son panier de noisettes sous le bras.",
    "Le vieux meunier la regardait passer avec un sourire plein de bonté.",
    "Elle pensait à sa mère, restée seule dans la petite maison au bord du chemin.",
    "Mon enfant, lui dit-il, tu reviendras ce soir avant la nuit, n'est-ce pas ?",
    "Oui, mon ami, je reviendrai, car je ne veux pas que ma mère soit inquiète.",
    "La jeune fille reprit sa route en chantant une vieille chanson du pays.",
    "Les bœufs labouraient le champ, et le laboureur les encourageait de la voix.",
    "Il y avait dans ce tableau quelque chose de grand et de simple à la fois.",
    "Madame de Villeneuve ouvrit la fenêtre et respira l'air frais du matin.",
    "Elle avait passé la nuit à lire des lettres qu'elle n'osait pas brûler.",
    "Son cœur battait quand elle entendit les pas du cheval dans l'avenue.",
    "C'était lui, enfin, après trois années d'absence et de silence.",
    "Il descendit de cheval, salua la dame et resta un moment sans parler.",
    "Vous voilà donc revenu, monsieur, dit-elle d'une voix tremblante.",
    "Je suis revenu pour vous, madame, et pour personne d'autre au monde.",
    "La pluie tombait sur les toits du village, et les enfants restaient à la maison.",
    "Le curé traversa la place, son grand parapluie noir à la main.",
    "Les femmes filaient au coin du feu en racontant des histoires de loups.",
    "Une chouette criait dans le bois, et les chiens répondaient au loin.",
    "Je ne sais pas, répondit l'enfant, mais je crois que la fée nous protège.",
    "La forêt était profonde et sombre, mais le chemin était bien marqué.",
    "Germain était un bon laboureur, fort et patient, aimé de tout le village.",
    "Il avait perdu sa femme et vivait avec ses enfants chez son beau-père.",
    "On lui conseilla de se remarier, mais il hésitait, car il aimait encore sa femme.",
    "La petite Marie devait aller servir dans une ferme, loin de sa mère.",
    "Ils partirent ensemble sur la grise, la jument que Germain aimait tant.",
    "La nuit tomba, et ils se perdirent dans le brouillard, près de la mare.",
    "Ils allumèrent un feu sous un grand chêne et attendirent le jour.",
    "L'enfant dormait sur les genoux de Marie, qui veillait sans rien dire.",
    "Germain regardait la jeune fille et sentait naître en lui un amour nouveau.",
    "Au matin, le ciel était clair, et la route apparut devant eux.",
    "La musique de la fête résonnait dans toute la vallée jusqu'au soir.",
    "Les musiciens jouaient de la cornemuse, et les jeunes gens dansaient.",
    "Consuelo chantait avec une voix si pure que tout le monde se taisait.",
    "Le maître l'écoutait, les yeux fermés, comme on écoute une prière.",
    "Elle était pauvre, mais son talent valait plus que toutes les richesses.",
    "Venise dormait sous la lune, et les gondoles glissaient sur l'eau noire.",
    "Il faut travailler, mon enfant, disait le vieux maître, travailler toujours.",
    "La gloire n'est rien sans le travail, et le travail n'est rien sans l'amour.",
]
VALIDATION = [
    "La meunière avait un bon cœur et donnait du pain aux pauvres du village.",
    "Elle regardait la rivière couler sous le pont de pierre.",
    "Le jeune homme salua la dame et la remercia de son accueil.",
    "La nuit était douce, et les étoiles brillaient au-dessus des bois.",
    "Je vous attendrai demain, dit-elle, au bord de la fontaine.",
    "Les enfants couraient dans les prés en riant et en chantant.",
]
TEST = [
    "Le laboureur revenait des champs, et ses bœufs marchaient devant lui.",
    "Marie ouvrit la porte de la ferme et entra sans faire de bruit.",
    "Bonjour, madame, dit-il, je viens vous parler de votre fille.",
    "La mare était noire, et le brouillard montait lentement du bois.",
    "Elle chantait une chanson que sa mère lui avait apprise autrefois.",
    "Le vieux maître ferma les yeux et écouta la musique de la fête.",
]


def make_dataset(out_dir: str | Path, repeat: int = 1) -> Path:
    """Write the tiny dataset with `save_to_disk`; `repeat` makes the train split longer."""
    from datasets import Dataset, DatasetDict

    def split(texts: list[str], book: int) -> Dataset:
        return Dataset.from_dict({"text": list(texts), "book": [book] * len(texts)})

    dataset = DatasetDict({"train": split(TRAIN * repeat, 1), "validation": split(VALIDATION, 1),
                           "test": split(TEST, 2)})
    dataset.save_to_disk(str(out_dir))
    return Path(out_dir)
