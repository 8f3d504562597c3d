"""How admin pages name people. Org admins may not open the User admin, so a person is text, never a link."""


def person_name(user):
    """A person as lists name them: "Mia Lee (mia)", or the username alone."""
    if user is None:
        return "-"
    full_name = user.get_full_name().strip()
    return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


def short_person_name(user):
    """A person in a narrow column: the full name, else the username."""
    if user is None:
        return "-"
    return user.get_full_name() or user.get_username()
