"""Names, email addresses and phone numbers for made-up families of a US pediatric practice."""

import unicodedata
from functools import cache
from random import Random

import phonenumbers

# ---------------------------------------------------------------- names
GIRLS = {
    "en": (
        "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
        "Emily", "Ella", "Avery", "Scarlett", "Grace", "Chloe", "Lily", "Aria", "Zoey", "Nora", "Hazel",
        "Layla", "Riley", "Madison", "Aaliyah", "Maya", "Naomi", "Claire", "Ruby", "Stella",
    ),
    "es": (
        "Sofía", "Valentina", "Camila", "Isabella", "Lucía", "Mariana", "Ximena", "Valeria", "Daniela",
        "Gabriela", "Natalia", "Renata", "Paula", "Emilia", "Victoria", "Regina", "Andrea", "Fernanda",
        "Jimena", "Ana",
    ),
}  # fmt: skip
BOYS = {
    "en": (
        "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry", "Theodore",
        "Jack", "Levi", "Alexander", "Jackson", "Mason", "Michael", "Ethan", "Daniel", "Logan", "Owen",
        "Samuel", "Jacob", "Asher", "Aiden", "Joseph", "Wyatt", "David", "Leo", "Isaiah", "Caleb",
    ),
    "es": (
        "Mateo", "Santiago", "Sebastián", "Diego", "Alejandro", "Emiliano", "Daniel", "Leonardo", "Matías",
        "Nicolás", "Gabriel", "Samuel", "Adrián", "Tomás", "Joaquín", "Ángel", "Carlos", "Luis", "Miguel",
        "David",
    ),
}  # fmt: skip
WOMEN = {
    "en": (
        "Jennifer", "Jessica", "Ashley", "Sarah", "Amanda", "Stephanie", "Nicole", "Melissa", "Elizabeth",
        "Megan", "Rachel", "Lauren", "Emily", "Kimberly", "Heather", "Rebecca", "Danielle", "Tiffany",
        "Brittany", "Christina", "Keisha", "Aisha", "Priya", "Mei", "Hannah", "Katherine", "Laura", "Erin",
    ),
    "es": (
        "María", "Guadalupe", "Ana", "Rosa", "Carmen", "Juana", "Verónica", "Patricia", "Leticia",
        "Alejandra", "Claudia", "Adriana", "Yesenia", "Elena", "Lorena", "Marisol", "Gabriela", "Sandra",
        "Mónica", "Silvia",
    ),
}  # fmt: skip
MEN = {
    "en": (
        "Michael", "Christopher", "Matthew", "Joshua", "David", "James", "Daniel", "Robert", "John",
        "Joseph", "Andrew", "Ryan", "Brandon", "Jason", "Justin", "William", "Jonathan", "Brian", "Kevin",
        "Eric", "Marcus", "Darnell", "Raj", "Wei", "Thomas", "Steven", "Kyle", "Aaron",
    ),
    "es": (
        "José", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Francisco", "Jesús", "Antonio", "Pedro",
        "Manuel", "Ricardo", "Alejandro", "Fernando", "Roberto", "Javier", "Óscar", "Raúl", "Eduardo",
        "Héctor",
    ),
}  # fmt: skip
GRANDMOTHERS = {
    "en": ("Linda", "Patricia", "Barbara", "Susan", "Deborah", "Carol", "Sharon", "Donna", "Brenda", "Diane"),
    "es": ("Dolores", "Esperanza", "Consuelo", "Socorro", "Teresa", "Josefina", "Graciela", "Irma"),
}
GRANDFATHERS = {
    "en": ("Richard", "Charles", "Gary", "Larry", "Dennis", "Jerry", "Roger", "Wayne", "Ronald", "Kenneth"),
    "es": ("Ramón", "Ernesto", "Alfonso", "Rogelio", "Salvador", "Arturo", "Rubén", "Armando"),
}
SURNAMES = {
    "en": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
        "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
        "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
        "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins",
        "Edwards", "Stewart", "Murphy", "Cook", "Rogers", "Nguyen", "Patel", "Kim", "Chen", "Washington",
        "Okafor", "O'Brien", "Sullivan", "Brooks", "Bennett", "Foster", "Hughes", "Price", "Coleman",
        "Jenkins",
    ),
    "es": (
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez",
        "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz", "Morales", "Reyes", "Gutiérrez", "Ortiz",
        "Chávez", "Ramos", "Vargas", "Castillo", "Jiménez", "Mendoza", "Ruiz", "Álvarez", "Romero",
        "Herrera", "Medina", "Aguilar", "Vásquez", "Castro", "Delgado",
    ),
}  # fmt: skip

# Reserved for documentation (RFC 2606): mail to these never reaches a real person.
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


@cache
def ascii_fold(text: str) -> str:
    """'Sofía O'Brien' -> 'sofiaobrien': what people type in an email address."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def family_email(rng: Random, first: str, last: str, family_number: int, taken: set[str]) -> str:
    """An address unique to this family (it carries the family's number) and to this person in it."""
    first, last = ascii_fold(first), ascii_fold(last)
    styles = (
        f"{first}.{last}{family_number}",
        f"{first}{last}{family_number}",
        f"{first[0]}{last}{family_number}",
    )
    local = rng.choice(styles)
    if local in taken:
        local = f"{first}.{last}{family_number}"
    taken.add(local)
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def newcomer_email(first: str, last: str, number: int) -> str:
    """A parent who is not in the practice yet; the '.n' suffix never occurs in a family's addresses."""
    return f"{ascii_fold(first)}.{ascii_fold(last)}.{number}@example.com"


# ---------------------------------------------------------------- phone numbers
# Area codes around the practice (Washington, DC) and of families who moved in from elsewhere.
AREA_CODES = (
    "202", "301", "240", "410", "443", "703", "571", "804", "757", "540",
    "212", "718", "917", "646", "312", "773", "415", "510", "213", "310",
    "617", "305", "786", "713", "832", "214", "469", "404", "678", "206",
    "602", "215", "267", "412", "313", "612", "303", "503", "702", "919",
)  # fmt: skip
LINES = 10_000
PHONE_SPACE = len(AREA_CODES) * LINES
_SCRAMBLE = 7_919  # a prime not dividing PHONE_SPACE: `index * _SCRAMBLE % PHONE_SPACE` is one-to-one


@cache
def _exchange() -> str:
    """The 555 exchange, set aside for fiction, so no demo text can reach a real person's phone.

    This phonenumbers release accepts 555 numbers as valid US numbers; should its metadata ever stop
    doing so, fall back to the first exchange it accepts for every area code used.
    """
    for exchange in ("555", *(str(n) for n in range(201, 1000))):
        if all(
            phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}{exchange}{line}"))
            for area in AREA_CODES
            for line in ("0100", "9999")
        ):
            return exchange
    raise RuntimeError("phonenumbers accepts no exchange for the demo area codes")


def cell_phone(index: int) -> str:
    """A valid US cell number in E.164, different for every index below PHONE_SPACE."""
    scrambled = (index * _SCRAMBLE) % PHONE_SPACE
    area, line = divmod(scrambled, LINES)
    return f"+1{AREA_CODES[area]}{_exchange()}{line:04d}"
