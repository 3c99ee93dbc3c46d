// full(): every element the same value.
uniform float u_value;

void main() {
    emit(u_value);
}
